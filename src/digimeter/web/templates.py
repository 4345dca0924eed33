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

#: the what-if page (:mod:`digimeter.web.whatif`)
WHATIF = """{% extends "base.html" %}{% block body %}
<section id="whatif-form"><h2>{{ _('What if') }}</h2>
<p>{{ _('Change the latest values of {unit} (a number, or a change per year until {deadline} such as +2/yr) and see its score, its rank and the chance of meeting each target change. The rest of the world stays as it is.').format(unit=unit_name, deadline=deadline) }}</p>
<form method="get" action="/whatif/{{ unit }}" id="whatif">
<input type="hidden" name="lang" value="{{ lang }}"><input type="hidden" name="spec" value="{{ spec }}">
<table><thead><tr><th>{{ _('Indicator') }}</th><th>{{ _('Latest') }}</th><th>{{ _('Valid range') }}</th><th>{{ _('New value') }}</th></tr></thead><tbody>
{% for r in levers %}<tr><td><label for="in-{{ r.node }}">{{ r.name }}</label> <small>({{ r.node }})</small></td><td class="num">{{ r.latest }} <small>{{ r.measure }}{% if r.year %}, {{ r.year }}{% endif %}</small></td><td class="num">{{ r.range }}</td>
<td><input id="in-{{ r.node }}" name="{{ r.node }}" value="{{ r.value }}" size="8" placeholder="{{ r.latest }}"></td></tr>{% endfor %}
</tbody></table>
<h3>{{ _('Pillar weights') }}</h3>
<p>{% for w in weights %}<label>{{ w.name }} <input id="w-{{ w.code }}" name="w.{{ w.code }}" value="{{ w.value }}" size="4" placeholder="{{ w.spec }}"></label> {% endfor %}</p>
<p><button type="submit" id="whatif-go">{{ _('Show') }}</button> <a href="/whatif/{{ unit }}?lang={{ lang }}&amp;spec={{ spec }}">{{ _('Reset') }}</a></p>
</form></section>
{% if result %}<section id="whatif-result"><h2>{{ _('Result') }}</h2>
<table id="whatif-index"><thead><tr><th></th><th>{{ _('Today') }}</th><th>{{ _('What if') }}</th></tr></thead><tbody>
<tr id="row-score"><td>{{ _('Score') }}: {{ spec_title }}</td><td class="num" data-v="{{ result.index.score_before }}">{{ fmt(result.index.score_before) }}</td><td class="num" data-v="{{ result.index.score_after }}">{{ fmt(result.index.score_after) }}</td></tr>
<tr id="row-rank"><td>{{ _('Rank') }} ({{ _('of {n}').format(n=result.index.n_ranked) }})</td><td class="num" data-v="{{ result.index.rank_before }}">{{ fmtr(result.index.rank_before) }}</td><td class="num" data-v="{{ result.index.rank_after }}">{{ fmtr(result.index.rank_after) }}</td></tr>
{% for n in pillars %}<tr><td>{{ n.name }}</td><td class="num">{{ fmt(n.score_before) }} ({{ fmtr(n.rank_before) }})</td><td class="num">{{ fmt(n.score_after) }} ({{ fmtr(n.rank_after) }})</td></tr>{% endfor %}
</tbody></table>
{% if result.targets %}<h3>{{ _('Targets') }}</h3>
<table id="whatif-targets"><thead><tr><th>{{ _('Target') }}</th><th>{{ _('Goal') }}</th><th>{{ _('P(met) today') }}</th><th>{{ _('P(met) what if') }}</th></tr></thead><tbody>
{% for t in result.targets %}<tr id="target-{{ t.target }}"{% if t.changed %} class="me"{% endif %}><td>{{ _(t.name) if t.name else t.target }}</td><td>{{ t.comparator }} {{ '%g' % t.threshold }} ({{ t.deadline }})</td><td class="num" data-v="{{ t.p_before }}">{{ fmtp(t.p_before) }}</td><td class="num" data-v="{{ t.p_after }}">{{ fmtp(t.p_after) }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
<p class="note">{{ _('The rest of the world as in the {index} {year} build (data vintage {vintage}).').format(index=spec_title, year=result.year, vintage=result.vintage) }}
{{ _('A new value moves every draw of the forecast with it: towards a bound, by the same share of its distance to the bound; a change per year adds up year by year until the deadline, and the index uses the value it reaches by then.') }}</p>
<p><a href="{{ csv_url }}" download>CSV</a> · <a href="{{ json_url }}">JSON</a></p>
</section>{% endif %}
{% endblock %}"""

TEMPLATES = {"base.html": BASE, "sections.html": SECTIONS, "upload.html": UPLOAD, "whatif.html": WHATIF}
