"""Writes to incidents, one module per part of the console: intake, workflow, bulk, collaboration,
requests, evidence, merge, filters, SLA (and live, what the consoles are told). Keyword-only; callers are
views, the API, tasks and consumers, and import from the module itself."""
