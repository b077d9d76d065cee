"""Rebuild the Korean translation: extract the UI's strings, fill them in, compile the .qm.

Run from the repository root after changing any UI text:

    python desktop/ui/i18n/build_translations.py

Steps: Qt's ``lupdate`` (PySide6 ships it) extracts every ``tr()``/``QT_TRANSLATE_NOOP`` string of
``desktop/ui`` into a temporary Linguist file (.ts); each source gets its Korean text from ``KO`` below; then
``lrelease`` compiles ``exaone_ko.qm``, the one file kept (the app loads it). A string without a Korean
text, or a Korean text no string uses, fails the build. The settings' one-line explanations are not here: the
settings table (``engine/settings_table.py``) holds them in English and Korean.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import PySide6
from exaone_convert import atomic_path

HERE = Path(__file__).resolve().parent
UI = HERE.parent
QM = HERE / "exaone_ko.qm"

KO: dict[str, str] = {
    # chat
    "Send messages to the cloud?": "메시지를 클라우드로 보낼까요?",
    "I understand and agree to send messages to this service": "이 서비스로 메시지를 보내는 것을 이해하고 동의합니다",
    "Turn on": "켜기",
    "Send the attached files to the cloud?": "첨부 파일을 클라우드로 보낼까요?",
    "Send to cloud": "클라우드로 보내기",
    "Keep local": "이 컴퓨터에 두기",
    "image {0} ({1})": "이미지 {0} ({1})",
    "<p>This message would go to <b>{host}</b> (the model <b>{model}</b>) with the conversation's attached files: "
    "their text and images would leave this computer.</p>":
        "<p>이 메시지는 대화에 첨부된 파일과 함께 <b>{host}</b>(모델 <b>{model}</b>)로 전송됩니다. 파일의 텍스트와 "
        "이미지가 이 컴퓨터를 떠납니다.</p>",
    "<p>You are asked at every send with files. Keep local answers with the local model and sends nothing.</p>":
        "<p>파일이 있는 메시지를 보낼 때마다 묻습니다. ‘이 컴퓨터에 두기’를 고르면 로컬 모델이 답하고 아무것도 "
        "보내지 않습니다.</p>",
    "Type a message (Ctrl+Enter sends)": "메시지를 입력하세요 (Ctrl+Enter로 보내기)",
    "Send": "보내기",
    "Attach image…": "이미지 첨부…",
    "Remove images": "이미지 빼기",
    "Attach images": "이미지 첨부",
    "Images (*.png *.jpg *.jpeg *.webp)": "이미지 (*.png *.jpg *.jpeg *.webp)",
    "Attach document…": "문서 첨부…",
    "Require an API key": "API 키 요구",
    "Programs must then send this key ('Authorization: Bearer KEY'); "
    "it is kept for the next time until you make a new one.":
        "그러면 프로그램은 요청마다 이 키를 보내야 합니다(HTTP 헤더 'Authorization: Bearer <키>'). "
        "새 키를 만들 때까지 다음 실행에도 같은 키를 씁니다.",
    "New key": "새 키",
    "Replace the key: programs set up with the old one are refused": "키 바꾸기: 이전 키를 쓰는 프로그램은 거절됩니다",
    "no key: any program on this computer may use it": "키 없음: 이 컴퓨터의 어떤 프로그램이든 쓸 수 있습니다",
    "drafts: {0} of {1} kept": "초안: {1}개 중 {0}개 채택",
    "auto": "자동",
    "This document was not attached: {0}": "이 문서는 첨부하지 않았습니다: {0}",
    "Attach documents": "문서 첨부",
    "Documents ({0})": "문서 ({0})",
    "Reading {0}…": "{0} 읽는 중…",
    "Remove {0}": "{0} 빼기",
    "A document is still being read: wait for it, or cancel it.": "아직 문서를 읽는 중입니다. 기다리거나 취소하세요.",
    "Stop": "멈추기",
    "Regenerate": "다시 생성",
    "Edit last message": "마지막 메시지 고치기",
    "New chat": "새 대화",
    "Search chats": "대화 검색",
    "Rename": "이름 바꾸기",
    "Delete": "삭제",
    "Export": "내보내기",
    "Main": "기본",
    "Models…": "모델…",
    "Settings": "설정",
    "Loading {0}…": "{0} 불러오는 중…",
    "Model ready.": "모델이 준비되었습니다.",
    "Models": "모델",
    "Rename chat": "대화 이름 바꾸기",
    "New name:": "새 이름:",
    "Delete chat": "대화 삭제",
    "Delete this chat and all its messages?": "이 대화와 모든 메시지를 삭제할까요?",
    "Export chat": "대화 내보내기",
    "Exported to {0}": "{0}(으)로 내보냈습니다",
    "Stopping…": "멈추는 중…",
    "No model is loaded: set up the demo model, or open the model manager.":
        "불러온 모델이 없습니다. 데모 모델을 준비하거나 모델 관리자를 여세요.",
    "Writing…": "답변 작성 중…",
    "{0:.1f} tok/s": "{0:.1f} 토큰/초",
    "The reply failed.": "답변을 만들지 못했습니다.",
    "Done.": "완료.",
    "Stopped; the partial reply was kept.": "멈췄습니다. 여기까지의 답변은 저장되었습니다.",
    "Use the other engine?": "다른 엔진을 쓸까요?",
    "Using OPENAI_API_KEY from the environment.": "환경 변수 OPENAI_API_KEY를 사용합니다.",
    "A key is stored in the OS keychain.": "키가 OS 키체인에 저장되어 있습니다.",
    "No API key set.": "API 키가 없습니다.",
    "Model: {0}": "모델: {0}",
    "none": "없음",
    "Backend: {0}": "백엔드: {0}",
    "Context: {0}{1}": "컨텍스트: {0}{1}",
    "Copy": "복사",
    "Reasoning": "추론 과정",
    "You": "나",
    "☁ Cloud reply": "☁ 클라우드 답변",
    "writing…": "작성 중…",
    "stopped": "멈춤",
    "interrupted": "중단됨",
    "failed": "실패",
    # model manager
    "Models on this computer": "이 컴퓨터의 모델",
    "Use selected model": "선택한 모델 사용",
    "Open a GGUF file…": "GGUF 파일 열기…",
    "Set up the demo model": "데모 모델 준비하기",
    "Refresh": "새로 고침",
    "Download an official EXAONE GGUF": "공식 EXAONE GGUF 내려받기",
    "This computer": "이 컴퓨터",
    "This computer has {0} of memory.": "이 컴퓨터의 메모리는 {0}입니다.",
    "This computer's memory is unknown.": "이 컴퓨터의 메모리 크기를 알 수 없습니다.",
    "{0} + {1} vision projector": "{0} + 비전 프로젝터 {1}",
    "unknown": "알 수 없음",
    "fits": "실행 가능",
    "too large (needs about {0})": "너무 큼 (약 {0} 필요)",
    "Downloads {0} with its vision projector {1}": "{0}을(를) 비전 프로젝터 {1}과(와) 함께 내려받습니다",
    "Check files and sizes on the Hub": "Hub에서 파일과 크기 확인",
    "Sizes marked ≈ are estimates; this asks Hugging Face for each repository's real files (nothing is "
    "downloaded)": "≈ 표시된 크기는 추정값입니다. Hugging Face에 저장소마다 실제 파일을 묻습니다(아무것도 "
                   "내려받지 않습니다)",
    "Asking the Hub for the official files…": "Hub에 공식 파일 목록을 묻는 중…",
    "Read {0} of {1} repositories; the others keep estimated sizes ({2})":
        "저장소 {1}개 중 {0}개를 읽었습니다. 나머지는 추정 크기로 둡니다 ({2})",
    "Read the files and sizes of all {0} repositories.": "저장소 {0}개 모두의 파일과 크기를 읽었습니다.",
    "Download": "내려받기",
    "Repository": "저장소",
    "File": "파일",
    "Convert a Hugging Face checkpoint": "Hugging Face 체크포인트 변환",
    "Hub id (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) or a local folder":
        "Hub ID (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) 또는 로컬 폴더",
    "Folder…": "폴더…",
    "Convert": "변환",
    "Source": "원본",
    "Type": "형식",
    "Quantize the selected GGUF": "선택한 GGUF 양자화",
    "Quantize": "양자화",
    "Cancel": "취소",
    "Select a model in the list first.": "먼저 목록에서 모델을 고르세요.",
    "Open a GGUF model": "GGUF 모델 열기",
    "Checkpoint folder": "체크포인트 폴더",
    "Setting up the demo model…": "데모 모델 준비 중…",
    "Choose a repository and a file.": "저장소와 파일을 고르세요.",
    "Downloading {0}…": "{0} 내려받는 중…",
    "Enter a Hub id or choose a checkpoint folder.": "Hub ID를 입력하거나 체크포인트 폴더를 고르세요.",
    "Converting {0}…": "{0} 변환 중…",
    "Select the GGUF to quantize in the list first.": "먼저 목록에서 양자화할 GGUF를 고르세요.",
    "Quantizing {0}…": "{0} 양자화 중…",
    "Another task is running; wait for it or cancel it.":
        "다른 작업이 진행 중입니다. 끝날 때까지 기다리거나 취소하세요.",
    "Cancelling…": "취소하는 중…",
    "Done: {0}": "완료: {0}",
    # the draft-model offer (speculative decoding)
    "Draft model (faster replies, the same text)": "보조 모델(더 빠른 답변, 같은 텍스트)",
    "Use it": "사용하기",
    "{0} can draft for {1}: it proposes tokens that {1} checks in one step.":
        "{0}이(가) {1}의 초안을 만들 수 있습니다. 제안한 토큰을 {1}이(가) 한 번에 검증합니다.",
    "{0} can draft for {1}: it proposes tokens that {1} checks in one step. Use it downloads it first ({2}).":
        "{0}이(가) {1}의 초안을 만들 수 있습니다. 제안한 토큰을 {1}이(가) 한 번에 검증합니다. "
        "‘사용하기’를 누르면 먼저 내려받습니다({2}).",
    "{0} will draft for {1} from its next load (Reload applies it now).":
        "{0}이(가) 다음에 불러올 때부터 {1}의 초안을 만듭니다(다시 불러오면 바로 적용됩니다).",
    "Cancelled; no file was written.": "취소했습니다. 파일은 만들어지지 않았습니다.",
    "Name": "이름",
    "Architecture": "아키텍처",
    "Size": "크기",
    "Quant type": "양자화 형식",
    "Context": "컨텍스트",
    # settings
    "unset": "미설정",
    "on": "켬",
    "off": "끔",
    "model default": "모델 기본값",
    "not applied by the cloud": "클라우드에서 적용 안 됨",
    "Reset": "초기화",
    "default {0}": "기본값 {0}",
    "model {0}": "모델 {0}",
    "One per line; \\n is a newline.": "한 줄에 하나씩, \\n은 줄바꿈입니다.",
    "Cloud": "클라우드",
    "Reasoning switch": "추론 스위치",
    "Reset all": "모두 초기화",
    "System prompt for this conversation": "이 대화의 시스템 프롬프트",
    "For example: You are a helpful assistant.": "예: 당신은 친절한 도우미입니다.",
    "Use the cloud fallback (OpenAI)": "클라우드 대체 사용 (OpenAI)",
    "Off by default. When on, your messages may be sent to the cloud service below; every cloud reply is marked.":
        "기본값은 꺼짐입니다. 켜면 메시지가 아래 클라우드 서비스로 보내질 수 있으며, 클라우드 답변은 모두 표시됩니다.",
    "Cloud settings": "클라우드 설정",
    "Paste an API key": "API 키를 붙여 넣으세요",
    "Save in keychain": "키체인에 저장",
    "Remove": "지우기",
    "Routing": "라우팅",
    "Model": "모델",
    "Base URL": "기본 URL",
    "API key": "API 키",
    "Follow the system": "시스템 설정 따르기",
    "Language": "언어",
    "Local first, ask before using the cloud": "로컬 먼저, 클라우드 사용 전에 묻기",
    "Always the cloud": "항상 클라우드",
    "Local first, then the cloud without asking": "로컬 먼저, 실패하면 묻지 않고 클라우드",
    # welcome
    "Welcome to EXAONE Desktop": "EXAONE Desktop에 오신 것을 환영합니다",
    "Seed {0}: send with this seed to draw the same reply": "시드 {0}: 이 시드로 보내면 같은 답변이 나옵니다",
    # long conversations: the status line and Settings > Model
    "{0} earlier messages were left out to fit the context; the chat keeps them.":
        "컨텍스트에 맞추려고 앞선 메시지 {0}개를 뺐습니다. 대화 기록에는 그대로 남아 있습니다.",
    "prompt: {0} reused, {1} read": "프롬프트: {0}개 재사용, {1}개 읽음",
    "{0} earlier messages left out": "앞선 메시지 {0}개 뺌",
    "These apply when the model is loaded: Reload applies a change.":
        "모델을 불러올 때 적용됩니다. 바꾼 설정은 다시 불러오기로 적용하세요.",
    "automatic": "자동",
    "Reload the model with these settings": "이 설정으로 모델 다시 불러오기",
    "Load a model to see the memory its context takes.": "모델을 불러오면 컨텍스트가 차지할 메모리가 보입니다.",
    "{0} tokens of context": "컨텍스트 {0} 토큰",
    "{0} tokens of context take {1} ({2})": "컨텍스트 {0} 토큰은 {1}를 차지합니다({2})",
    "Kept now: {0} conversations, {1} of {2}": "지금 보관 중: 대화 {0}개, {2} 중 {1}",
    "Serve the loaded model on localhost": "불러온 모델을 이 컴퓨터(localhost)에서 서비스하기",
    "An OpenAI-compatible server on this computer only (127.0.0.1): editors, notebooks and agent frameworks "
    "can use the model.":
        "이 컴퓨터에서만 열리는 OpenAI 호환 서버(127.0.0.1)입니다. 편집기, 노트북, 에이전트 프레임워크에서 "
        "모델을 쓸 수 있습니다.",
    "not serving": "서비스하지 않음",
    "Load a model first: the server answers with the loaded model.":
        "먼저 모델을 불러오세요. 서버는 불러온 모델로 답합니다.",
    "Serving the model at {0}": "{0}에서 모델을 서비스하는 중",
}

# The consent text is long and HTML: kept separately for readability.
KO["<p>With the cloud fallback on, <b>the conversation you send</b> (its system prompt, your messages and the "
   "previous answers, without reasoning) and the generation settings are sent over HTTPS to <b>{host}</b> and "
   "answered by the model <b>{model}</b>.</p><p>Your API key is kept in the OS keychain. Nothing else leaves this "
   "computer, and nothing is sent while the switch is off. Every cloud reply is marked in the chat.</p>"] = (
    "<p>클라우드 대체를 켜면 <b>보내는 대화</b>(시스템 프롬프트, 내 메시지, 추론을 뺀 이전 답변)와 생성 설정이 "
    "HTTPS로 <b>{host}</b>에 전송되고, 모델 <b>{model}</b>이(가) 답합니다.</p>"
    "<p>API 키는 OS 키체인에 보관됩니다. 그 밖에는 아무것도 이 컴퓨터를 떠나지 않으며, 스위치가 꺼져 있는 동안에는 "
    "아무것도 전송되지 않습니다. 클라우드 답변은 대화에 모두 표시됩니다.</p>"
)

# issue 24: the first five minutes (chat, settings, images, first run, downloads)
KO.update({
    "A mirror of the Hugging Face Hub for downloads (HF_ENDPOINT).":
        "내려받기에 쓸 Hugging Face Hub 미러입니다(HF_ENDPOINT).",
    "A preset sets the sampling settings below; the reply length, seed and stop texts stay yours.":
        "프리셋은 아래 샘플링 설정을 바꿉니다. 답변 길이, 시드, 멈춤 문자열은 그대로 둡니다.",
    "A tiny demo model that works at once, offline. It is not EXAONE: it only recites one short text, to show "
    "the app working.":
        "바로 오프라인으로 동작하는 아주 작은 데모 모델입니다. EXAONE이 아니며, 앱이 동작하는 모습을 보여 주려고 "
        "짧은 글 하나만 외워 말합니다.",
    "App": "앱",
    "Ask again; the earlier replies are kept (‹ › on the reply)": "다시 묻습니다. 이전 답변은 남습니다(답변의 ‹ ›).",
    "Balanced": "균형",
    "Cancelled; nothing was kept.": "취소했습니다. 아무것도 남기지 않았습니다.",
    "Cannot reach Hugging Face: this computer seems to be offline, or needs a proxy (Settings → App → Network).":
        "Hugging Face에 연결할 수 없습니다. 이 컴퓨터가 오프라인이거나 프록시가 필요해 보입니다"
        "(설정 → 앱 → 네트워크).",
    "Chat": "대화",
    "Chat with LG AI Research's EXAONE models on this computer: private, and offline once the model is here. "
    "Start with the model recommended for this computer.":
        "LG AI연구원의 EXAONE 모델과 이 컴퓨터에서 대화하세요. 대화는 밖으로 나가지 않으며, 모델을 받은 뒤에는 "
        "오프라인으로 동작합니다. 이 컴퓨터에 맞는 추천 모델로 시작하세요.",
    "Creative": "창의적",
    "Download ({0})": "내려받기 ({0})",
    "Edit": "고치기",
    "Edit this message: the chat branches, and the old version is kept":
        "이 메시지 고치기: 대화가 새 갈래로 나뉘고, 이전 내용은 남습니다",
    "Editing a message: Send asks again on a new branch (the old one is kept). Escape cancels.":
        "메시지를 고치는 중입니다. 보내기를 누르면 새 갈래에서 다시 묻습니다(이전 갈래는 남습니다). "
        "Esc를 누르면 취소합니다.",
    "Enter sends the message (Shift+Enter starts a new line)": "Enter로 보내기 (Shift+Enter는 줄바꿈)",
    "Everyday chat in Korean and English with a reasoning switch: 1.2B runs on any laptop, 32B needs a "
    "workstation.":
        "추론 스위치가 있는 한국어·영어 일상 대화 모델입니다. 1.2B는 어느 노트북에서나, 32B는 워크스테이션에서 "
        "돌아갑니다.",
    "HTTPS proxy (HTTPS_PROXY)": "HTTPS 프록시 (HTTPS_PROXY)",
    "How replies are written: presets and every sampling setting": "답변을 만드는 방식: 프리셋과 모든 샘플링 설정",
    "Hub mirror (HF_ENDPOINT)": "Hub 미러 (HF_ENDPOINT)",
    "Hugging Face refused the download: accept the model's licence on its page, or log in with a token.":
        "Hugging Face가 내려받기를 거절했습니다. 모델 페이지에서 라이선스에 동의하거나 토큰으로 로그인하세요.",
    "LG's largest model, a mixture of experts: the strongest answers, for a server with very much memory.":
        "LG의 가장 큰 전문가 혼합(MoE) 모델입니다. 가장 뛰어난 답변을 내며, 메모리가 아주 많은 서버용입니다.",
    "LG's recommended for {0}": "{0}용 LG 권장 설정",
    "LG's recommended settings": "LG 권장 설정",
    "Licence: {0}. Read it on <a href=\"{1}\">the model's page</a> before you use the model.":
        "라이선스: {0}. 모델을 쓰기 전에 <a href=\"{1}\">모델 페이지</a>에서 읽어 보세요.",
    "Network": "네트워크",
    "Next version": "다음 버전",
    "No chat contains “{0}”.": "“{0}”이(가) 들어 있는 대화가 없습니다.",
    "Off: Enter starts a new line and Ctrl+Enter sends.": "끄면 Enter는 줄바꿈, Ctrl+Enter는 보내기입니다.",
    "Precise (the same answer every time)": "정확 (매번 같은 답변)",
    "Preset": "프리셋",
    "Previous version": "이전 버전",
    "Reads images and documents as well as text, and reasons step by step: LG's newest, for a well-equipped "
    "computer.":
        "글뿐 아니라 이미지와 문서도 읽고 단계별로 추론합니다. LG의 최신 모델로, 사양이 좋은 컴퓨터용입니다.",
    "Recommended for this computer": "이 컴퓨터에 추천",
    "Reliable chat and writing in Korean and English, in three sizes.":
        "한국어와 영어로 믿을 만한 대화와 글쓰기를 합니다. 세 가지 크기가 있습니다.",
    "Replies": "답변",
    "See every official model, or convert one…": "모든 공식 모델 보기 또는 변환하기…",
    "Sizes: {0} · needs at least {1} of memory": "크기: {0} · 메모리 최소 {1} 필요",
    "Stopped asking the Hub; the sizes stay estimates.": "Hub에 묻기를 멈췄습니다. 크기는 추정값으로 둡니다.",
    "The attached file could not be used as an image: {0}. Attach a PNG, JPEG or WebP image of at most 20 MB.":
        "첨부한 파일을 이미지로 쓸 수 없습니다: {0}. 20MB 이하의 PNG, JPEG, WebP 이미지를 첨부하세요.",
    "The download failed: {0}": "내려받지 못했습니다: {0}",
    "The proxy your network needs for HTTPS (HTTPS_PROXY).": "네트워크에서 HTTPS에 필요한 프록시입니다(HTTPS_PROXY).",
    "The setting's name in transformers and in exaone-generate": "transformers와 exaone-generate에서 쓰는 설정 이름",
    "There is not enough free disk space for this file; free some space and try again.":
        "이 파일을 받을 디스크 공간이 부족합니다. 공간을 비우고 다시 시도하세요.",
    "Thinks step by step before answering: mathematics, science and programming questions.":
        "답하기 전에 단계별로 생각합니다. 수학, 과학, 프로그래밍 질문에 알맞습니다.",
    "This address cannot work: it must start with http:// or https://.":
        "이 주소는 쓸 수 없습니다. http:// 또는 https://로 시작해야 합니다.",
    "This file is not on Hugging Face (any more); check the name or the mirror.":
        "이 파일이 Hugging Face에 없습니다. 이름이나 미러 주소를 확인하세요.",
    "This model cannot read images: it has no vision projector (mmproj) beside it. Load a model that reads "
    "images, such as EXAONE 4.5, or put the model's mmproj-*.gguf file beside it.":
        "이 모델은 이미지를 읽을 수 없습니다. 옆에 비전 프로젝터(mmproj)가 없습니다. EXAONE 4.5처럼 이미지를 읽는 "
        "모델을 불러오거나, 모델의 mmproj-*.gguf 파일을 같은 폴더에 두세요.",
    "This model cannot read images: it has no vision projector (mmproj) beside it. Put its mmproj-*.gguf file in "
    "the same folder, or load a model that reads images, such as EXAONE 4.5. The image stays attached.":
        "이 모델은 이미지를 읽을 수 없습니다. 옆에 비전 프로젝터(mmproj)가 없습니다. mmproj-*.gguf 파일을 같은 "
        "폴더에 두거나, EXAONE 4.5처럼 이미지를 읽는 모델을 불러오세요. 이미지는 첨부된 채로 남습니다.",
    "Today {0}": "오늘 {0}",
    "Try the demo model": "데모 모델 써 보기",
    "Try without downloading": "내려받지 않고 써 보기",
    "Type a message (Enter sends, Shift+Enter: new line)": "메시지를 입력하세요 (Enter: 보내기, Shift+Enter: 줄바꿈)",
    "Your own settings": "직접 정한 설정",
    "about {0} left": "약 {0} 남음",
    "all": "전부",
    "mixture of experts": "전문가 혼합",
    "reads images": "이미지 읽기",
    "reasoning": "추론",
    "{0} download · needs about {1} of this computer's {2} of memory":
        "내려받기 {0} · 이 컴퓨터의 메모리 {2} 중 약 {1} 필요",
    "{0} h {1} min": "{0}시간 {1}분",
    "{0} min": "{0}분",
    "{0} of {1}": "{1} 중 {0}",
    "{0} s": "{0}초",
    "{0}% downloaded": "{0}% 받음",
    "{0}/s": "{0}/초",
    "Copy code": "코드 복사",
    "The model could not be loaded: {0}": "모델을 불러오지 못했습니다: {0}",
    "The context can be at most {0} tokens with this model (or automatic).":
        "이 모델의 컨텍스트는 최대 {0} 토큰입니다(또는 자동).",
    "This value cannot be used: {0}": "이 값은 쓸 수 없습니다: {0}",
    "This was not attached: only PNG, JPEG and WebP images of at most 20 MB can be attached.":
        "첨부하지 않았습니다. 20MB 이하의 PNG, JPEG, WebP 이미지만 첨부할 수 있습니다.",
    "The reply failed: {0}": "답변을 만들지 못했습니다: {0}",
    "Note: {0}": "참고: {0}",
    "{0} must be within {1}; it keeps its value.": "{0} 값은 {1} 범위여야 합니다. 원래 값을 그대로 둡니다.",
    "{0} must be above 0 while {1} is on; for the same answer every time, turn {1} off.":
        "{1}이(가) 켜져 있으면 {0} 값은 0보다 커야 합니다. 매번 같은 답변을 원하면 {1}을(를) 끄세요.",
    "More than one reply ({0}) needs {1} on.": "답변을 여러 개 만들려면({0}) {1}을(를) 켜야 합니다.",
    "The task failed: {0}": "작업을 마치지 못했습니다: {0}",
    # downloads: pause and resume
    "Pause": "일시 정지",
    "Stop the download and keep what has arrived; Resume continues it, also after the app is restarted":
        "다운로드를 멈추고 받은 부분은 남겨 둡니다. 이어받기를 누르면 앱을 다시 시작한 뒤에도 이어서 받습니다",
    "Paused downloads": "일시 정지한 다운로드",
    "Resume": "이어받기",
    "Discard": "버리기",
    "Delete the part already downloaded": "이미 받은 부분을 삭제합니다",
    "{0}: {1} of {2}, paused": "{0}: {2} 중 {1} 받음, 일시 정지됨",
    "Deleted the partial download of {0}.": "{0}의 받다 만 파일을 삭제했습니다.",
    "Paused; Resume continues the download from where it stopped.":
        "일시 정지했습니다. 이어받기를 누르면 멈춘 곳부터 이어서 받습니다.",
    # the server panel
    "Time": "시각",
    "Client": "클라이언트",
    "Tokens": "토큰",
    "Duration": "걸린 시간",
    "Status": "상태",
    "Clients are set up with this port; kept for the next time":
        "클라이언트는 이 포트로 설정합니다. 다음 실행에도 유지됩니다",
    "Port": "포트",
    "Start with the app": "앱과 함께 시작",
    "Serve as soon as the model has loaded when the app starts": "앱을 시작해 모델을 불러오면 바로 서비스합니다",
    "The requests answered, newest first: no prompt or reply is kept":
        "응답한 요청 목록(최신순)입니다. 프롬프트나 답변 내용은 남기지 않습니다",
    "Clear the log": "기록 지우기",
    "Requests": "요청",
    "Server": "서버",
    "Port {0} is in use by another program: choose another port.":
        "포트 {0}번을 다른 프로그램이 쓰고 있습니다: 다른 포트를 고르세요.",
    "The server could not start: {0}": "서버를 시작하지 못했습니다: {0}",
    "Clients may name the model {0}, or give any other name: replies name {1}.":
        "클라이언트는 모델 이름으로 {0} 또는 다른 어떤 이름이든 쓸 수 있습니다. 답변에는 {1}(으)로 표시됩니다.",
})


def _tool(name: str) -> str:
    """Qt's ``name`` tool from beside the PySide6 package (what its ``pyside6-NAME`` command runs)."""
    found = shutil.which(name, path=str(Path(PySide6.__file__).parent))
    if found is None:
        raise SystemExit(f"{name} not found beside PySide6: reinstall PySide6-Essentials (it ships {name})")
    return found


def extract(ts: Path) -> ET.ElementTree[ET.Element]:
    """Every translatable string of ``desktop/ui``, as ``lupdate`` writes it into the new file ``ts``."""
    sources = sorted(str(p) for p in UI.glob("*.py"))
    subprocess.run([_tool("lupdate"), *sources, "-no-obsolete", "-ts", str(ts)], check=True, capture_output=True)
    return ET.parse(ts)


def fill(tree: ET.ElementTree[ET.Element]) -> list[str]:
    """Set every message's Korean text from ``KO``; returns the sources ``KO`` has no text for."""
    root = tree.getroot()
    root.set("language", "ko_KR")
    root.set("sourcelanguage", "en")
    missing = []
    for msg in root.iter("message"):
        source = msg.findtext("source") or ""
        translation = msg.find("translation")
        if translation is None:
            translation = ET.SubElement(msg, "translation")
        if source in KO:
            translation.text = KO[source]
            translation.attrib.pop("type", None)
        else:
            missing.append(source)
    return missing


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ts = Path(tmp) / "exaone_ko.ts"
        tree = extract(ts)
        missing = fill(tree)
        unused = sorted(set(KO) - {msg.findtext("source") for msg in tree.getroot().iter("message")})
        if missing or unused:
            for heading, texts in (("no Korean text for", missing), ("KO texts no UI string uses", unused)):
                if texts:
                    print(f"{heading}:\n  " + "\n  ".join(texts), file=sys.stderr)
            return 1
        tree.write(ts, encoding="utf-8", xml_declaration=True)
        with atomic_path(QM) as partial:
            subprocess.run([_tool("lrelease"), str(ts), "-qm", str(partial)], check=True, capture_output=True)
    print(f"wrote {QM.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
