"""storemon: business-hours-aware uptime reports for delivery-platform stores."""

__version__ = "0.1.0"
