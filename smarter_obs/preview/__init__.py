"""The offline preview page of the dashboards (``smarter-obs preview``)."""
