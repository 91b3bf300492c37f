"""The static label website: `build_site` renders the catalog into a folder.

The package's modules, by what they do:

- `build`: the build itself (what changed, the render pool, the summary);
- `plan` and `manifest`: what the last build left, and what must be made again;
- `inputs`: the catalog reads, as few and as light as the pages allow;
- `model_page`: a model's page, as typed objects rendered through `model_main.html.j2`;
- `shared_pages`: index, row chunks, compare, task pages, methodology, exports;
- `rows`: the index's rows in script chunks; `charts`: the task pages' chart geometry;
- `provenance`: a label's provenance as readable groups;
- `badge_files`: a model's badge SVG and JSON files;
- `environment`: the Jinja environment, its filters and globals;
- `files`: fast writes and hard links in a folder a build owns.

Templates and static files live in the repository's `site/` folder (not a package).
"""

from __future__ import annotations

from labeler.site.build import ALTERNATIVES_ON_PAGE, SiteSummary, build_site
from labeler.site.charts import grade_bars, grade_bars_from_counts, pareto_front, scatter_chart
from labeler.site.environment import SITE_SOURCE, environment, script_json, task_page_name
from labeler.site.files import link_file, write_file
from labeler.site.manifest import render_code_hash

__all__ = [
    "ALTERNATIVES_ON_PAGE",
    "SITE_SOURCE",
    "SiteSummary",
    "build_site",
    "environment",
    "grade_bars",
    "grade_bars_from_counts",
    "link_file",
    "pareto_front",
    "render_code_hash",
    "scatter_chart",
    "script_json",
    "task_page_name",
    "write_file",
]
