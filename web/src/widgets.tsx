/** A loading indicator announced to screen readers. */
export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" /> {label}…
    </div>
  )
}

/** An error message (role alert) with an optional retry button. */
export function ErrorBox({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <span>{message}</span>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  )
}

/** A job or connection status as a coloured badge. */
export function StatusBadge({ status }: { status: string | undefined }) {
  if (!status) return <span className="badge">never synced</span>
  return <span className={`badge badge-${status}`}>{status}</span>
}
