"""The ASGI application: webhooks, health, metrics, the internal API, the fake processor's HTTP face."""
