"""The agent-sessions command line and the local runtime it starts."""
