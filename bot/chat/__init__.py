"""Chat platform adapters. The only place that knows Slack, Discord or the terminal."""
