# Helpers for the README's walk-through ("Try the API locally"), for bash and zsh; they need curl
# and python3 (both on Linux and macOS). Load them once in the shell you type the examples in:
#
#   . tools/try-api.sh
#
#   want STATUS curl ARGS…         run curl, print its answer, fail unless its HTTP status is STATUS
#   field PATH                     print one field of the last answer (ANSWER): lead_id, items.0.id
#   await PATH VALUE curl ARGS…    repeat a read (every half second, up to 30 s) until its field
#                                  PATH is VALUE: workflows run in the background
#   utc [OFFSET]                   the time now, or OFFSET from now (+1m, -2h, +30d), in RFC 3339
#   uuidgen                        a random UUID, where the system has no uuidgen
#
# (zsh reserves `status` and `path`: no variable here is named so.)

want() {
  local expected=$1 out code
  shift
  out=$("$@" -w '\n%{http_code}') || {
    code=$?
    echo "want: $1 failed (exit $code)" >&2
    return "$code"
  }
  ANSWER=${out%$'\n'*}
  printf '%s\n' "$ANSWER"
  [ "${out##*$'\n'}" = "$expected" ] || {
    echo "want: expected HTTP $expected, got ${out##*$'\n'}" >&2
    return 1
  }
}

field() {
  printf '%s' "$ANSWER" | python3 -c 'import functools, json, sys
value = functools.reduce(lambda v, k: v[int(k)] if isinstance(v, list) else v[k],
                         sys.argv[1].split("."), json.load(sys.stdin))
print(value if isinstance(value, str) else json.dumps(value))' "$1"
}

await() {
  local field_path=$1 value=$2 attempt=0
  shift 2
  while [ "$attempt" -lt 60 ]; do
    if want 200 "$@" >/dev/null && [ "$(field "$field_path" 2>/dev/null)" = "$value" ]; then
      printf '%s\n' "$ANSWER"
      return 0
    fi
    attempt=$((attempt + 1))
    sleep 0.5
  done
  echo "await: $field_path is not $value after 30 s: $ANSWER" >&2
  return 1
}

utc() {
  python3 -c 'import datetime, sys
offset = sys.argv[1] or "+0s"
unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[offset[-1]]
now = datetime.datetime.now(datetime.timezone.utc)
print((now + datetime.timedelta(**{unit: int(offset[:-1])})).strftime("%Y-%m-%dT%H:%M:%SZ"))' "${1:-}"
}

command -v uuidgen >/dev/null 2>&1 || uuidgen() { python3 -c 'import uuid; print(uuid.uuid4())'; }
