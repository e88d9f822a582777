"""What the demo prints: the sends, the way back, the suppressions and the next steps."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sendwarden.cli.demo.scenario import DemoReport

WIDE = 110
NEXT_STEPS = (
    ("sendwarden dev-smtp --dir ./mail", "a local capture server; export the SMTP_* it prints"),
    ("sendwarden init", "create ./sendwarden.db"),
    ("sendwarden serve", "the API on http://127.0.0.1:8000, OpenAPI docs at /docs"),
    ("the 5-minute tour", "in README.md: campaign, lead, validate, send, suppress, audit"),
)


def render(report: DemoReport, out: Console, *, kept: bool = True) -> None:
    v = report.validation
    out.print(
        f"\nPOST /policy/validate {escape(str(v['recipient_email']))}: "
        f"{'allowed' if v['allowed'] else 'blocked'} (region {v['region']},"
        f" legal basis {v['legal_basis']}, domain {v['daily_domain_count']}/"
        f"{v['daily_domain_limit']} today)"
    )
    table = Table(title="Sends through POST /outreach/send", title_justify="left")
    table.add_column("#")
    table.add_column("Recipient", no_wrap=True, min_width=27)
    table.add_column("Region, legal basis")
    table.add_column("Result")
    wide = out.width >= WIDE  # room to say what each send shows
    if wide:
        table.add_column("Shows")
    for send in report.sends:
        result = "[green]sent[/green]" if send.rule is None else f"[red]blocked: {send.rule}[/red]"
        cells = [str(send.attempt_id), escape(send.recipient)]
        cells += [f"{send.region} {send.legal_basis}", result]
        table.add_row(*cells, *([escape(send.shows)] if wide else []))
    out.print(table)
    sent = sum(1 for s in report.sends if s.rule is None)
    rules = ", ".join(s.rule for s in report.sends if s.rule is not None)
    out.print(f"{sent} sent, {len(report.sends) - sent} blocked ({rules}).")
    _render_way_back(report, out)
    if not kept:  # the paths would point at what is about to be deleted
        out.print(
            f"\nCaptured {report.captured} messages (nothing left this machine);"
            " run with --keep-dir to look at them and at the database afterwards."
        )
        return
    eml_files = sorted(report.eml_dir.glob("*.eml"))
    out.print(f"\nCaptured {report.captured} messages (nothing left this machine):")
    out.print(f"  Maildir:     {escape(str(report.maildir))}")
    out.print(f"  .eml files:  {escape(str(report.eml_dir))} ({len(eml_files)} .eml files)")
    out.print(f"  Database:    {escape(str(report.database_file))}")
    out.print(
        "  Inspect it:  sendwarden --database-url "
        f"{escape('sqlite:///' + str(report.database_file))} audit list",
        soft_wrap=True,  # a command to copy: never broken across lines
    )


def _render_way_back(report: DemoReport, out: Console) -> None:
    back = Table(title="The way back: inbound mail and one-click unsubscribe", title_justify="left")
    back.add_column("Event")
    back.add_column("Recipient", no_wrap=True, min_width=27)
    for column in ("Through", "Result"):
        back.add_column(column)
    for event in report.inbound:
        back.add_row(escape(event.what), escape(event.recipient), escape(event.path), event.outcome)
    out.print()
    out.print(back)
    listed = Table(title="Suppression list (GET /suppression)", title_justify="left")
    listed.add_column("Address or domain", no_wrap=True, min_width=27)
    for column in ("Source", "Reason"):
        listed.add_column(column)
    for entry in report.suppressions:
        listed.add_row(escape(entry["value"]), entry["source"], escape(entry["reason"] or "-"))
    out.print(listed)


def render_next_steps(out: Console) -> None:
    out.print("\n[bold]Next steps[/bold] with your own settings:")
    for number, (command, what) in enumerate(NEXT_STEPS, 1):
        out.print(f"  {number}. [bold]{escape(command)}[/bold]: {escape(what)}")
