"""The chat controller's conversations side: new, open and delete a chat, the message to edit,
paging through kept replies, and the chat to open at launch. A part of ``ChatController`` (which holds the state
it reads), kept apart by concern; each refuses (False or None) while a reply is being written."""

from __future__ import annotations

from .chat_session import ChatSession
from .store import Conversation


class ConversationControls:
    """What the conversation list and the chat's messages change; mixed into ``ChatController``."""

    session: ChatSession

    def busy(self) -> bool:
        raise NotImplementedError  # ChatController's: a reply is being written

    def new_conversation(self) -> bool:
        """An empty chat (created in the store with its first message); False while a reply streams."""
        if self.busy():
            return False
        self.session.conversation_id = None
        return True

    def open_conversation(self, conversation_id: int) -> Conversation | None:
        """None while a reply streams (the open chat cannot change under it)."""
        return None if self.busy() else self.session.open(conversation_id)

    def delete_conversation(self, conversation_id: int) -> bool:
        """False while the open chat's reply streams; deleting the open chat leaves an empty one."""
        if self.busy() and conversation_id == self.session.conversation_id:
            return False
        self.session.store.delete_conversation(conversation_id)
        if conversation_id == self.session.conversation_id:
            self.session.conversation_id = None
        return True

    def last_user_text(self) -> str | None:
        """The text to edit (None: nothing to edit now)."""
        last = self.session.last_user_message()
        return None if last is None or self.busy() else last.content

    def last_user_id(self) -> int | None:
        last = self.session.last_user_message()
        return None if last is None or self.busy() else last.id

    def show_variant(self, message_id: int, step: int) -> bool:
        """Page to another kept reply (or version of a question); False while a reply streams or at the end."""
        return not self.busy() and self.session.show_variant(message_id, step)

    def last_conversation(self, remembered: int | None) -> int | None:
        """The chat to open at launch: the one open when the app was closed, else the most recent one."""
        ids = [c.id for c in self.session.store.conversations()]
        if remembered in ids:
            return remembered
        return ids[0] if ids else None
