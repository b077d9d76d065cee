"""The Qt layer. It imports the engine; the engine never imports it."""
