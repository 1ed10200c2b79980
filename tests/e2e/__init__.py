"""End-to-end tests: the real ``register-agent run`` process, its pty reader, the TCP
virtual printer and the sandbox.
"""
