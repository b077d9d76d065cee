"""The app's logic without Qt: conversations, the chat store, the settings being edited, the model list."""
