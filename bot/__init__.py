"""techwatch: watches the news for US–Japan technology cooperation."""

__version__ = "0.1.0"
