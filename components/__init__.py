"""Reusable Streamlit pieces shared by Atelier's pages."""
