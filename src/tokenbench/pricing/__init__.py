"""Cost: API prices (genai-prices' bundled data), self-hosted $/Mtok from measured throughput,
and the break-even between them."""
