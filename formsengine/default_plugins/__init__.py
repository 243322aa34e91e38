"""Built-in plugins, registered through the same path as an organisation's plugins."""
