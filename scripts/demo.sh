#!/usr/bin/env bash
# The main job on the embedded default: a simulated province, ingested, checked, classified, planned,
# inspected, warned about and reported on.
set -euo pipefail
ENTITIES="${DEMO_ENTITIES:-20000}"
AS_OF="${DEMO_AS_OF:-2026-09-30}"
export RISKGRADE_HOME="${RISKGRADE_HOME:-demo/home}"
rm -rf demo
echo "== 1. simulate a province of ${ENTITIES} market entities (Shandong counties) =="
riskgrade simulate --entities "$ENTITIES" --seed 1 --out demo/delivery
echo "== 2. ingest the delivery (validate, attribute, de-duplicate, quarantine) =="
riskgrade ingest demo/delivery --report demo/ingest-report.json
echo "== 3. data quality (数据质量监测评估) =="
riskgrade quality --out demo/quality.html
riskgrade quality
echo "== 4. classify every active entity as of ${AS_OF} (信用风险分类) =="
riskgrade classify --as-of "$AS_OF"
riskgrade model list
# the card of the approved model, else of the newest candidate (a small province may not beat the expert scorecard)
MODEL_ID="$(riskgrade model list --json | python3 -c "import json, sys; m = json.load(sys.stdin); a = [x for x in m if x['status'] == 'approved'] or m[-1:]; print(a[0]['model_id'] if a else '')")"
if [ -n "$MODEL_ID" ]; then riskgrade model card "$MODEL_ID" --out demo/model-card.html; fi
riskgrade export grades --as-of "$AS_OF" --out demo/grades.csv
echo
echo "First graded entities (demo/grades.csv):"
python3 -c "import sys; [print(l.rstrip()[:120]) for l in open('demo/grades.csv', encoding='utf-8').readlines()[:6]]"
echo "== 5. a risk-weighted double-random inspection plan (双随机抽查计划), inspectors matched =="
BUDGET="${DEMO_BUDGET:-$((ENTITIES / 20))}"
# the seed is committed (and the commitment published) before the draw; the draw must use it
riskgrade seed commit --as-of "$AS_OF" --seed 20261008 --source "demo: a fixed seed" --out demo/seed-commitment.json
riskgrade plan --as-of "$AS_OF" --budget "$BUDGET" --seed 20261008 --out demo/plan.csv --publish demo/publication
riskgrade plans verify demo/publication
echo "== 6. inspection results come back (simulated from the ground truth); effectiveness (监管效能) =="
PLAN_ID=1   # the demo's data home is new: its first plan
riskgrade simulate-results --plan "$PLAN_ID" --delivery demo/delivery --out demo/results.csv
riskgrade results import demo/results.csv --plan "$PLAN_ID"
riskgrade effectiveness --plan "$PLAN_ID" --out demo/effectiveness.html
riskgrade export results --plan "$PLAN_ID" --out demo/public-results.csv
echo "== 7. early warning (监测预警) over what is held =="
riskgrade warn
riskgrade export alerts --out demo/alerts.csv
echo "== 8. regional and industry analysis, the monthly report (区域行业风险研判, 月度报告) =="
riskgrade analyse --as-of "$AS_OF" --out demo/analysis.html
riskgrade report --month "${AS_OF:0:7}" --out demo/report.html
echo
echo "Open demo/quality.html (data quality), demo/model-card.html (the model card: the approved model, else the candidate),"
echo "demo/effectiveness.html (inspection effectiveness),"
echo "demo/analysis.html (regional and industry risk) and demo/report.html (the monthly report);"
echo "demo/grades.csv holds every grade with its reasons and labels, demo/plan.csv the inspection plan,"
echo "demo/publication/ what is published about the draw, demo/public-results.csv the public results,"
echo "demo/alerts.csv the early-warning alerts in the queue (those held for review: riskgrade alerts list"
echo "--status uncorroborated).  The web console: riskgrade user add ... && riskgrade publish"
echo "--as-of ${AS_OF} && riskgrade serve (see docs/service.md)."
