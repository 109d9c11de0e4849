"""The service layer: what the CLI, the API and the console share (plain data in, plain data or files out;
riskgrade errors, never a face's request, response or template types)."""
