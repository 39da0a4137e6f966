"""Gradio tabs: layout, events and formatting only; the logic lives in gsv_core."""
