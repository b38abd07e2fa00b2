"""Code both services need: settings, Redis and scripts, key names, the Link model, errors."""
