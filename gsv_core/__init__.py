"""GSV Studio core library: everything but the UI (never imports gradio)."""
