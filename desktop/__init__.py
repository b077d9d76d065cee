"""exaone-desktop: chat with EXAONE models offline (installed as ``exaone_desktop``)."""

__version__ = "0.1.0"
