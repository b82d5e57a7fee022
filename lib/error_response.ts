/** An error as fazt's envelope carries it; `HttpError` has this shape. */
export interface ErrorBody {
  status: number;
  /** Stable UPPER_SNAKE code clients branch on. */
  code: string;
  /** Shown to the client: never SQL, file paths or secrets. */
  message: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const ERROR_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

/**
 * The one writer of error answers, `{"error": {"code", "message", "details"?}}`,
 * for the API and for failures around app code alike. Errors are never
 * cached: the same request may succeed a moment later.
 */
export function errorResponse(err: ErrorBody): Response {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details) error.details = err.details;
  return new Response(JSON.stringify({ error }), {
    status: err.status,
    headers: { ...ERROR_HEADERS, ...err.headers },
  });
}
