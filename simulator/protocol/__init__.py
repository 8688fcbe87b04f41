"""The protocol of the spec: messages (models), subjects and the JetStream topology."""

__all__: list[str] = []
