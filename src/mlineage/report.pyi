# Types of ``mlineage.report``, the documented path of mlineage.views.report (_old_paths).
from mlineage.views.report import build_report_data as build_report_data
from mlineage.views.report import write_report as write_report
