"""Jinja2 templates of the dashboard (kept in Python so they ship with the package)."""

BASE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page_title }} · digimeter</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27 viewBox=%270 0 16 16%27%3E%3Crect width=%2716%27 height=%2716%27 rx=%273%27 fill=%27%230b2a4a%27/%3E%3Crect x=%273%27 y=%279%27 width=%272%27 height=%274%27 fill=%27%23E69F00%27/%3E%3Crect x=%277%27 y=%276%27 width=%272%27 height=%277%27 fill=%27%2356B4E9%27/%3E%3Crect x=%2711%27 y=%273%27 width=%272%27 height=%2710%27 fill=%27%23009E73%27/%3E%3C/svg%3E">
<style>{{ css }}
.top{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:8px}
.langs a{color:#cfe0f3;margin-left:10px}.langs a.on{color:#fff;font-weight:bold;text-decoration:underline}
form.inline{display:inline}
nav.toc .api{float:right}nav.toc .api a{margin:0 4px}
.err{background:#fdecea;border-left:4px solid #D55E00;padding:10px 14px}
input,select,button{font-size:14px;padding:4px 6px}
select#regional{max-width:min(36em,70vw)}
</style></head>
<body>
<header><div class="top"><h1>{{ page_title }}</h1>
<nav class="langs" aria-label="{{ _('Language') }}">{% for code, label in langs %}<a href="{{ lang_urls[code] }}" class="{{ 'on' if code == lang else '' }}" hreflang="{{ code }}">{{ label }}</a>{% endfor %}</nav></div>
<div class="sub">{{ subtitle }}</div></header>
<nav class="toc">{% for href, label in menu %}<a href="{{ href }}">{{ label }}</a>{% endfor %}
<span class="api"><a href="{{ api_url }}">JSON</a> · <a href="/docs">API</a></span></nav>
<main>
{% if error %}<section><p class="err">{{ error.error }}</p>{% if error.errors %}<ul>{% for p in error.errors %}<li>{{ p.message }}{% if p.field %} ({{ p.field }}){% endif %}{% if p.fix %} — {{ p.fix }}{% endif %}</li>{% endfor %}</ul>{% endif %}</section>{% endif %}
{% block body %}{% endblock %}
</main>
<footer>digimeter {{ version }} · {{ _('Every number carries its source; see Methods and data.') }}</footer>
<script src="/assets/vega-bundle.js"></script><script src="/assets/charts.js"></script>
</body></html>
"""

SECTIONS = """{% extends "base.html" %}{% block body %}
{% if pick_unit %}<section><form method="get" action="{{ form_action }}"><label>{{ _('Country') }} <input name="unit" value="{{ unit }}" size="6"></label>
{% if show_units %}<label>{{ _('compare with') }} <input name="units" value="{{ units_value }}" size="24"></label>{% endif %}
<input type="hidden" name="lang" value="{{ lang }}">{% if spec %}<input type="hidden" name="spec" value="{{ spec }}">{% endif %}{% if scenario %}<input type="hidden" name="scenario" value="{{ scenario }}">{% endif %}<button type="submit">{{ _('Show') }}</button></form>
{% if regional_choices %}<form method="get" action="/regions/{{ unit }}" id="regional-form"><label>{{ _('Regional indicator') }} <select name="regional" id="regional">{% for c in regional_choices %}<option value="{{ c.code }}"{{ ' selected' if c.code == regional else '' }}>{{ _(c.name) }}{% if c.regions %} ({{ c.regions }}, {{ c.latest_year }}){% endif %}</option>{% endfor %}</select></label>
<input type="hidden" name="lang" value="{{ lang }}"><input type="hidden" name="spec" value="{{ spec }}"><button type="submit">{{ _('Show') }}</button></form>{% endif %}</section>{% endif %}
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.title }}</h2>{{ s.body }}</section>{% endfor %}
{% endblock %}"""

UPLOAD = """{% extends "base.html" %}{% block body %}
<section><h2>{{ _('Upload a spec') }}</h2>
<p>{{ _('A YAML index spec (at most {kb} KB). It is validated exactly as on the command line and built on the bundled data.').format(kb=spec_kb) }}</p>
<form method="post" action="/upload/spec?lang={{ lang }}" enctype="multipart/form-data">
<input type="file" name="file" accept=".yaml,.yml"> <label>{{ _('Country') }} <input name="unit" value="{{ unit }}" size="6"></label>
<button type="submit">{{ _('Build') }}</button></form></section>
<section><h2>{{ _('Upload data') }}</h2>
<p>{{ _('A CSV or XLSX file (at most {kb} KB) in the import layout of `digimeter data import`; it is imported into a private copy of the store and the index is rebuilt.').format(kb=data_kb) }}</p>
<form method="post" action="/upload/data?lang={{ lang }}" enctype="multipart/form-data">
<input type="file" name="file" accept=".csv,.xlsx"> <label>{{ _('Index') }} <select name="spec">{% for s in specs %}<option{{ ' selected' if s == default_spec else '' }}>{{ s }}</option>{% endfor %}</select></label>
<label>{{ _('Country') }} <input name="unit" value="{{ unit }}" size="6"></label>
<button type="submit">{{ _('Import and rebuild') }}</button></form></section>
{% if result %}<section id="result"><h2>{{ result_title }}</h2>{% for p in result_text %}<p>{{ p }}</p>{% endfor %}{{ result_table }}</section>{% endif %}
{% endblock %}"""

TEMPLATES = {"base.html": BASE, "sections.html": SECTIONS, "upload.html": UPLOAD}
