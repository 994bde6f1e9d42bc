"""sageint SDK: call Sage Accounting through a sageint deployment on behalf of your users."""

__version__ = "0.1.0"
