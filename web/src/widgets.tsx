import { useEffect, useRef, type ReactNode } from 'react'

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

/** A modal dialog (native <dialog>: focus trapped, Escape closes). */
export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return (
    <dialog ref={ref} aria-label={title} onClose={onClose} className="dialog">
      <h2>{title}</h2>
      {children}
    </dialog>
  )
}
