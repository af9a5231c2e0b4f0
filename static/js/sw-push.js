/* push handlers: see reminders push work (issue 16, point 4). Imported by the service worker. */
