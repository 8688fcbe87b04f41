"""pytest integration of the Mister Smith NATS testbed."""

__all__: list[str] = []
