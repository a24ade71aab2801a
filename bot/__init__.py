"""The crmbot process: CLI, settings, config loading, assembly, dispatcher and adapters."""
