"""Where events come from: webhooks, pollers, files and the demo replay."""
