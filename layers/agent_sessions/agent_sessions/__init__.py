"""agent-sessions: spending sessions for AI agents, enforced by DynamoDB conditional writes."""
