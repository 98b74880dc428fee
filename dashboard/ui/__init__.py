"""The app: view state and view model (`state`), map, exports, panels, and the Streamlit page."""
