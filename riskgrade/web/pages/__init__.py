"""The console's pages, one module per area; :func:`riskgrade.web.console.mount` adds them all."""
