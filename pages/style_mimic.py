"""Placeholder until this page lands."""

import streamlit as st

st.title("style_mimic")
st.info("This page is being built.")
