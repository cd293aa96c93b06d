"""The local runtime: the template's API and workers over an embedded moto, plus the operator's tools.

Installed apart from the client CLI (`agent-sessions-cli`): this package needs the domain layer,
moto, werkzeug and PyYAML; the client needs only the standard library.
"""
