"""Placeholder until this page lands."""

import streamlit as st

st.title("video")
st.info("This page is being built.")
