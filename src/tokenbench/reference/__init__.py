"""The reference server: a scripted OpenAI-compatible SSE server of known timing, the ground
truth that client measurements (tokenbench's own and other load generators') are checked against.
"""
