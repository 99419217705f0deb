"""The model catalog: published facts about models (size, context, license, architecture,
published scores with their source), the infrastructure calculator, and recommendations."""
