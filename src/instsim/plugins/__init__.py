"""Built-in plugins, registered through instsim's own entry points (see :mod:`instsim.registry`)."""
