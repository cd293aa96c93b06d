"""`python -m agent_sessions_cli`."""

import sys

from agent_sessions_cli.main import main

sys.exit(main())
