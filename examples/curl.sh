#!/usr/bin/env bash
# Call a model behind a Tollgate-protected gateway with curl.
#   GATEWAY_URL   the gateway (nginx, Envoy, Traefik), e.g. http://127.0.0.1:8000
#   TOLLGATE_KEY  an inference API key (tgi_…), an access key is sent as X-Model-Access-Key instead
set -euo pipefail
: "${GATEWAY_URL:?set GATEWAY_URL}" "${TOLLGATE_KEY:?set TOLLGATE_KEY}"
curl -sS --fail-with-body "$GATEWAY_URL/v1/chat/completions" \
  -H "Authorization: Bearer $TOLLGATE_KEY" \
  -H "Content-Type: application/json" \
  -d '{"model":"demo-llm","messages":[{"role":"user","content":"Say hello"}]}'
echo
