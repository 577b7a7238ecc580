/** A titled section of the page; shows the error that belongs to it right under its title. */
import type { ReactNode } from 'react';
import type { ShownError } from '../store/types';

export function Panel(props: {
  id: string;
  title: string;
  aside?: ReactNode;
  error?: ShownError;
  className?: string;
  children: ReactNode;
}) {
  return (
    <section
      className={`panel ${props.className ?? ''}`}
      data-testid={`${props.id}.panel`}
      aria-labelledby={`${props.id}-title`}
    >
      <header className="panel-head">
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        {props.aside}
      </header>
      {props.error && (
        <div className="error" role="alert" data-testid={`${props.id}.error`} data-code={props.error.code}>
          {props.error.message}
        </div>
      )}
      {props.children}
    </section>
  );
}

export function Empty(props: { children: ReactNode; testid?: string }) {
  return (
    <p className="empty" data-testid={props.testid}>
      {props.children}
    </p>
  );
}
