"""Reports (issue 18): response rate, response times, the delivery funnel and volumes, over the message log's
report tables (store/reports.py). docs/REPORTS.md defines every figure; `service.reports` is ReportService."""

from .service import ReportService

__all__ = ["ReportService"]
