"""Chat: a conversation with the image model that takes pictures in and gives them out."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from components.history_panel import (
    add_result,
    download_button,
    entry_from_result,
    use_buttons,
)
from components.image_input import (
    TrayImage,
    make_tray_image,
    set_tray,
    thumbnail_png,
    tray,
)
from components.notices import error_boundary, show_error
from components.preset_picker import preset_picker
from components.progress import run_with_progress, still_running
from components.shell import ensure_app_shell
from components.state import remember, remembered
from components.studio import studio
from services import chat, gemini, images
from services.errors import AtelierError
from services.history import HistoryEntry

ensure_app_shell(__file__)

PAGE = "chat"
CHAT_KEY = "chat_session"  # the SDK chat: the conversation as the model knows it
EXCHANGES_KEY = "chat_exchanges"  # what the page shows, one record per message
FORKS_KEY = "chat_forks"  # the chats continuing from each reply to the last message
PENDING_KEY = "chat_pending"
EDITING_KEY = "chat_editing"
INPUT_KEY = "chat_input"
COUNT_KEY = "chat_count"
RATIO_KEY = "chat_ratio"
IMPROVE_KEY = "chat_improve"
PROBLEMS_KEY = "chat_attachment_problems"  # why the last message was not sent
RESTORE_KEY = "chat_restore_text"  # text to put back in the box before it is drawn
SENDING_KEY = "chat_sending"  # the message whose answer is on its way
AUTO = "Auto"
STARTERS = (
    "Make a poster of a fox",
    "Draw a city skyline at night",
    "Create a forest scene with flowers",
)
IMAGE_BOX = 480  # largest side of a picture shown in the conversation, in pixels

current = studio()
settings = current.settings
secret = settings.api_key


@dataclass(frozen=True)
class Pending:
    """A message to send on this run: new, regenerated, or edited and resent."""

    typed: str
    attachments: tuple[gemini.InputImage, ...]
    replace_from: int
    text: str | None = None  # already final (a regenerate); None means build it now


def exchanges() -> list[chat.Exchange]:
    return list(st.session_state.get(EXCHANGES_KEY, []))


def aspect_ratio() -> str | None:
    chosen = st.session_state.get(RATIO_KEY, AUTO)
    return None if chosen == AUTO else chosen


# --- button callbacks ---------------------------------------------------------------


def fill_input(prompt: str) -> None:
    st.session_state[INPUT_KEY] = prompt


def send_starter(prompt: str) -> None:
    st.session_state[PENDING_KEY] = Pending(prompt, (), len(exchanges()))


def regenerate() -> None:
    shown = exchanges()
    last = shown[-1]
    st.session_state[PENDING_KEY] = Pending(
        last.typed, last.attachments, len(shown) - 1, text=last.text
    )


def start_edit(exchange_id: str) -> None:
    st.session_state[EDITING_KEY] = exchange_id


def cancel_edit() -> None:
    st.session_state.pop(EDITING_KEY, None)


def send_edit(index: int) -> None:
    exchange = exchanges()[index]
    typed = st.session_state.get(f"chat_edit_{exchange.exchange_id}", exchange.typed)
    st.session_state.pop(EDITING_KEY, None)
    st.session_state[PENDING_KEY] = Pending(typed, exchange.attachments, index)


def continue_from(index: int, variant: int) -> None:
    shown = exchanges()
    forks = st.session_state.get(FORKS_KEY) or {}
    if forks.get("exchange_id") != shown[index].exchange_id:
        return
    st.session_state[CHAT_KEY] = forks["chats"][variant]
    shown[index] = replace(shown[index], chosen=variant)
    st.session_state[EXCHANGES_KEY] = shown


def clear_chat() -> None:
    for key in (
        CHAT_KEY,
        EXCHANGES_KEY,
        FORKS_KEY,
        EDITING_KEY,
        PENDING_KEY,
        SENDING_KEY,
        PROBLEMS_KEY,
    ):
        st.session_state.pop(key, None)


def remove_attachment(image_id: str) -> None:
    set_tray(PAGE, [item for item in tray(PAGE) if item.image_id != image_id])


# --- showing the conversation -------------------------------------------------------


def display_width(width: int, height: int) -> int:
    return max(80, min(IMAGE_BOX, width, round(IMAGE_BOX * width / height)))


def show_attachments(attachments: tuple[gemini.InputImage, ...]) -> None:
    if not attachments:
        return
    columns = st.columns(min(len(attachments), 4) + 2)
    for column, item in zip(columns, attachments, strict=False):
        column.image(thumbnail_png(item.data, 240), caption=item.name)


def show_picture(entry: HistoryEntry, key: str, label: str = "") -> None:
    width = display_width(entry.width, entry.height)
    # The buttons sit under the picture at its width, with room for their labels.
    with st.container(width=max(width, 320)):
        st.image(thumbnail_png(entry.data, 1024), width=width)
        st.caption(f"{label}{entry.width}×{entry.height} px")
        buttons = st.columns(2)
        with buttons[0]:
            download_button(entry, key=f"{key}_dl")
        with buttons[1]:
            use_buttons(entry, key, settings.max_image_pixels)


def show_user(index: int, exchange: chat.Exchange, editable: bool) -> None:
    with st.chat_message("user"):
        if st.session_state.get(EDITING_KEY) == exchange.exchange_id:
            st.text_area(
                "Edit your message",
                value=exchange.typed,
                key=f"chat_edit_{exchange.exchange_id}",
                help="Sending replaces this message and everything after it.",
            )
            show_attachments(exchange.attachments)
            buttons = st.columns([1, 1, 4])
            buttons[0].button(
                "Send",
                key=f"chat_edit_send_{exchange.exchange_id}",
                on_click=send_edit,
                args=(index,),
                type="primary",
                width="stretch",
            )
            buttons[1].button(
                "Cancel",
                key=f"chat_edit_cancel_{exchange.exchange_id}",
                on_click=cancel_edit,
                width="stretch",
            )
            return
        st.markdown(exchange.typed or "*(picture only)*")
        show_attachments(exchange.attachments)
        if exchange.text != exchange.typed:
            st.caption(f"Sent as an improved prompt: “{exchange.text}”")
        if editable:
            st.button(
                "Edit and resend",
                key=f"chat_edit_open_{exchange.exchange_id}",
                on_click=start_edit,
                args=(exchange.exchange_id,),
                icon=":material/edit:",
                type="tertiary",
            )


def show_assistant(index: int, exchange: chat.Exchange, is_last: bool) -> None:
    forks = st.session_state.get(FORKS_KEY) or {}
    can_switch = is_last and forks.get("exchange_id") == exchange.exchange_id
    with st.chat_message("assistant"):
        if exchange.error is not None:
            show_error(exchange.error, secret)
        else:
            reply = exchange.replies[exchange.chosen]
            if reply.text:
                st.markdown(reply.text)
            with_pictures = [shown for shown in exchange.replies if shown.entries]
            if len(exchange.replies) > 1 and with_pictures:
                columns = st.columns(len(exchange.replies))
                for variant, (column, shown) in enumerate(
                    zip(columns, exchange.replies, strict=True)
                ):
                    with column:
                        show_variant(index, exchange, variant, shown, can_switch)
            else:
                for number, entry in enumerate(reply.entries):
                    show_picture(entry, f"chat_{exchange.exchange_id}_{number}")
            if not reply.text and not reply.entries:
                st.caption("The model answered with nothing.")
            st.caption(f"{reply.model} · {reply.seconds:.1f} s")
        if is_last:
            st.button(
                "Try again" if exchange.error is not None else "Regenerate",
                key="chat_regenerate",
                on_click=regenerate,
                icon=":material/refresh:",
            )


def show_variant(
    index: int,
    exchange: chat.Exchange,
    variant: int,
    shown: chat.ShownReply,
    can_switch: bool,
) -> None:
    key = f"chat_{exchange.exchange_id}_v{variant}"
    for number, entry in enumerate(shown.entries):
        show_picture(entry, f"{key}_{number}", label=f"Version {variant + 1} · ")
    if not shown.entries:
        st.caption(f"Version {variant + 1}: {shown.text or 'no picture'}")
    if variant == exchange.chosen:
        st.caption("✓ The conversation continues from this one")
    elif can_switch:
        st.button(
            "Continue from this one",
            key=f"{key}_continue",
            on_click=continue_from,
            args=(index, variant),
            width="stretch",
        )


# --- sending ------------------------------------------------------------------------


def attachments_from(submitted: Any) -> tuple[list[TrayImage], list[str]]:
    """The images sent with a message (the tray, then chat input files), and problems."""
    found = list(tray(PAGE))
    problems: list[str] = []
    for upload in getattr(submitted, "files", None) or []:
        try:
            item = make_tray_image(
                upload.getvalue(), upload.name, settings.max_image_pixels
            )
        except AtelierError as error:
            problems.append(error.user_message)
            continue
        if all(item.image_id != kept.image_id for kept in found):
            found.append(item)
    return found, problems


def shown_reply(answer: gemini.ModelAnswer, prompt: str) -> chat.ShownReply:
    """The page's record of an answer; its images become history entries."""
    entries = tuple(
        entry_from_result(result, PAGE, prompt, answer.model, note=answer.text)
        for result in answer.images
    )
    return chat.ShownReply(answer.text, answer.model, answer.seconds, entries)


def converse(pending: Pending, shown: list[chat.Exchange]) -> None:
    """Send a message, show it while the model works, and keep what comes back."""
    ratio = aspect_ratio()
    conversation = st.session_state.get(CHAT_KEY) or chat.start_chat(
        current.client, settings, ratio
    )
    if pending.replace_from < len(shown):
        history_before = shown[pending.replace_from].history_before
        conversation = chat.rewound_to(
            current.client, settings, conversation, history_before, ratio
        )
    else:
        history_before = chat.history_length(conversation)

    with st.chat_message("user"):
        st.markdown(pending.typed or "*(picture only)*")
        show_attachments(pending.attachments)
    with st.chat_message("assistant"):
        count = int(st.session_state.get(COUNT_KEY) or 1)
        text = pending.text if pending.text is not None else pending.typed
        earlier = shown[: pending.replace_from]

        improve = pending.text is None and bool(st.session_state.get(IMPROVE_KEY))
        first = pending.attachments[0].data if pending.attachments else None

        def improve_then_send() -> tuple[str, list[chat.Reply]]:
            # One call in the background, so leaving mid-way keeps both steps.
            final = text
            if improve:
                final = gemini.improve_prompt(
                    current.client, settings, pending.typed, first
                )
            replies = chat.send_variants(
                current.client,
                settings,
                conversation,
                final,
                pending.attachments,
                ratio,
                count,
            )
            return final, replies

        def keep_replies(outcome: tuple[str, list[chat.Reply]]) -> None:
            final, replies = outcome
            records = tuple(shown_reply(reply.answer, final) for reply in replies)
            for record in reversed(records):
                for entry in reversed(record.entries):
                    add_result(entry)
            exchange = chat.Exchange(
                final, pending.typed, pending.attachments, history_before, records
            )
            st.session_state[CHAT_KEY] = replies[0].chat
            st.session_state[FORKS_KEY] = {
                "exchange_id": exchange.exchange_id,
                "chats": [reply.chat for reply in replies],
            }
            st.session_state[EXCHANGES_KEY] = [*earlier, exchange]
            st.session_state.pop(SENDING_KEY, None)

        def keep_failure(error: AtelierError) -> None:
            exchange = chat.Exchange(
                text, pending.typed, pending.attachments, history_before, error=error
            )
            st.session_state[CHAT_KEY] = conversation
            st.session_state.pop(FORKS_KEY, None)
            st.session_state[EXCHANGES_KEY] = [*earlier, exchange]
            st.session_state.pop(SENDING_KEY, None)

        st.session_state[SENDING_KEY] = pending
        working = "Thinking…" if count == 1 else f"Making {count} versions…"
        # Either way the outcome is kept (by keep_replies or keep_failure), also
        # when the user leaves before the answer comes.
        with contextlib.suppress(AtelierError):
            run_with_progress(
                f"Improving the prompt, then {working.lower()}" if improve else working,
                improve_then_send,
                expected_s=(3 if current.is_offline else 20) + (5 if improve else 0),
                keep=keep_replies,
                on_error=keep_failure,
                name="Chat reply",
            )
    st.rerun()


# --- the page -----------------------------------------------------------------------

remembered(COUNT_KEY, 1)
remembered(RATIO_KEY, AUTO)
remembered(IMPROVE_KEY, False)

busy = still_running("Chat reply")

st.title("Chat")
st.caption(
    "Ask for a picture, then keep refining it in plain words — "
    "“make a poster of a fox”, “now make it night”, “crop to 9:16”. "
    "Attach photos with the + in the message box."
)

tools = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
tools[0].segmented_control(
    "Pictures per answer",
    [1, 2, 3, 4],
    key=COUNT_KEY,
    help="More than one asks for separate versions; pick which one to continue from.",
)
tools[1].selectbox(
    "Aspect ratio",
    [AUTO, *gemini.ASPECT_RATIOS],
    key=RATIO_KEY,
    help="For new pictures. Auto lets the model choose; edits keep the picture's shape.",
)
tools[2].toggle(
    "Improve my prompt first",
    key=IMPROVE_KEY,
    help="The text model rewrites each message into a more concrete prompt.",
)
tools[3].button(
    "Clear chat",
    on_click=clear_chat,
    icon=":material/delete:",
    width="stretch",
    disabled=busy or not st.session_state.get(EXCHANGES_KEY),
)
for key in (COUNT_KEY, RATIO_KEY, IMPROVE_KEY):
    remember(key)
preset_picker(PAGE, fill_input)

if (restored := st.session_state.pop(RESTORE_KEY, None)) is not None:
    st.session_state[INPUT_KEY] = restored
if busy:
    st.info("⏳ The last message is still being answered; the reply appears here.")
submitted = st.chat_input(
    "Waiting for the reply…"
    if busy
    else "Ask for a picture, or attach one and describe a change",
    disabled=busy,
    key=INPUT_KEY,
    accept_file="multiple",
    file_type=["png", "jpg", "jpeg", "webp"]
    + (["heic", "heif"] if images.HEIF_SUPPORTED else []),
    submit_mode="disable",
)

shown = exchanges()
pending: Pending | None = st.session_state.pop(PENDING_KEY, None)
# One message at a time: while an answer is on its way (the user left and came
# back), its message is shown waiting and nothing else is sent.
sending: Pending | None = st.session_state.get(SENDING_KEY) if busy else None
if busy:
    pending = None
if submitted is not None and not busy:
    attached, problems = attachments_from(submitted)
    typed = (submitted.text or "").strip()
    if problems:
        # Not sent: without the photo the model would apply the words to something
        # else. The photos that did open wait in the tray, the text goes back into
        # the box, and the problem stays on screen.
        set_tray(PAGE, attached)
        st.session_state[PROBLEMS_KEY] = problems
        st.session_state[RESTORE_KEY] = typed
        st.rerun()
    if typed or attached:
        pending = Pending(
            typed,
            tuple(gemini.InputImage(item.data, item.name) for item in attached),
            len(shown),
        )
        set_tray(PAGE, [])
        st.session_state.pop(EDITING_KEY, None)
        st.session_state.pop(PROBLEMS_KEY, None)

for problem in st.session_state.get(PROBLEMS_KEY, []):
    st.warning(f"{problem} The message was not sent.", icon="🚫")

on_its_way = pending or sending
visible = shown[: on_its_way.replace_from] if on_its_way is not None else shown
if not visible and on_its_way is None:
    with st.chat_message("assistant"):
        st.markdown(
            "Hello! Ask me for a picture, or attach a photo and tell me what to change. "
            "Every picture I make can be downloaded or sent to another page."
        )
        if current.is_offline:
            st.caption(
                "This is the offline engine: it draws simple scenes and understands "
                "plain edits (night, sepia, black and white, blur, crop to 9:16…). "
                "It is classical image processing, not AI."
            )
        starters = st.columns(len(STARTERS))
        for column, starter in zip(starters, STARTERS, strict=True):
            column.button(
                starter,
                key=f"chat_starter_{starter}",
                on_click=send_starter,
                args=(starter,),
                width="stretch",
            )

for index, exchange in enumerate(visible):
    is_last = index == len(visible) - 1 and on_its_way is None
    show_user(index, exchange, editable=on_its_way is None)
    show_assistant(index, exchange, is_last)

if sending is not None:
    with st.chat_message("user"):
        st.markdown(sending.typed or "*(picture only)*")
        show_attachments(sending.attachments)
    with st.chat_message("assistant"):
        st.caption("⏳ Still answering; the reply appears here.")

waiting = tray(PAGE)
if waiting and on_its_way is None:
    st.caption("Attached to your next message:")
    columns = st.columns(6)
    for column, item in zip(columns, waiting, strict=False):
        with column:
            st.image(thumbnail_png(item.data, 240), caption=item.name)
            st.button(
                "Remove",
                key=f"chat_detach_{item.image_id}",
                on_click=remove_attachment,
                args=(item.image_id,),
                width="stretch",
            )

if pending is not None:
    with error_boundary(secret):
        converse(pending, shown)
