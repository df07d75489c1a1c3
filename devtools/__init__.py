"""Development tools: what runs the tests and the local engine, never shipped with the generator."""
