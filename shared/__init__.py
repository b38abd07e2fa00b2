"""Code both services need: settings, Redis access and scripts, key names, the Link model, errors."""
