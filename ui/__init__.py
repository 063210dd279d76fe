"""Web front end: the Gradio chat UI and the server that mounts it beside the HTTP API.

Only this package imports gradio; it talks to the tutor through `tutor`'s public API.
"""
