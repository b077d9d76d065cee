"""Rebuild the Korean translation: extract the UI's strings, fill them in, compile the .qm.

Run from the repository root after changing any UI text:

    python desktop/ui/i18n/build_translations.py

Steps: ``pyside6-lupdate`` extracts every ``tr()``/``QT_TRANSLATE_NOOP`` string of ``desktop/ui`` into
``exaone_ko.ts``; each source gets its Korean text from ``KO`` below; then ``pyside6-lrelease`` compiles
``exaone_ko.qm``. A string without a Korean text fails the build. The settings' one-line explanations are
not here: the settings table (``engine/settings_table.py``) holds them in English and Korean.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
UI = HERE.parent
TS = HERE / "exaone_ko.ts"
QM = HERE / "exaone_ko.qm"

KO: dict[str, str] = {
    # chat
    "Send messages to the cloud?": "메시지를 클라우드로 보낼까요?",
    "I understand and agree to send messages to this service": "이 서비스로 메시지를 보내는 것을 이해하고 동의합니다",
    "Turn on": "켜기",
    "Editing your last message: Send replaces it and asks again.":
        "마지막 메시지를 고치는 중입니다. 보내기를 누르면 바꾼 메시지로 다시 묻습니다.",
    "Type a message (Ctrl+Enter sends)": "메시지를 입력하세요 (Ctrl+Enter로 보내기)",
    "Send": "보내기",
    "Attach image…": "이미지 첨부…",
    "Remove images": "이미지 빼기",
    "Attach images": "이미지 첨부",
    "Images (*.png *.jpg *.jpeg *.webp)": "이미지 (*.png *.jpg *.jpeg *.webp)",
    "Attach document…": "문서 첨부…",
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
    "Generation": "생성",
    "Conversation": "대화",
    "Cloud": "클라우드",
    "Interface": "화면",
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
    "There is no model on this computer yet. Start with the small demo model (it runs offline, made for trying "
    "the app), or download or convert an EXAONE model.":
        "아직 이 컴퓨터에 모델이 없습니다. 앱을 시험해 볼 수 있는 작은 데모 모델(오프라인 실행)로 시작하거나, "
        "EXAONE 모델을 내려받거나 변환하세요.",
    "Download or convert a model…": "모델 내려받기 또는 변환…",
    "Seed {0}: send with this seed to draw the same reply": "시드 {0}: 이 시드로 보내면 같은 답변이 나옵니다",
    # long conversations: the status line and Settings > Model
    "{0} earlier messages were left out to fit the context; the chat keeps them.":
        "컨텍스트에 맞추려고 앞선 메시지 {0}개를 뺐습니다. 대화 기록에는 그대로 남아 있습니다.",
    "prompt: {0} reused, {1} read": "프롬프트: {0}개 재사용, {1}개 읽음",
    "{0} earlier messages left out": "앞선 메시지 {0}개 뺌",
    "These apply when the model is loaded: Reload applies a change.":
        "모델을 불러올 때 적용됩니다. 바꾼 설정은 다시 불러오기로 적용하세요.",
    "automatic": "자동",
    "Context size": "컨텍스트 크기",
    "KV cache type": "KV 캐시 형식",
    "Kept conversations": "보관할 대화",
    "Reload the model with these settings": "이 설정으로 모델 다시 불러오기",
    "Load a model to see the memory its context takes.": "모델을 불러오면 컨텍스트가 차지할 메모리가 보입니다.",
    "{0} tokens of context": "컨텍스트 {0} 토큰",
    "{0} tokens of context take {1} ({2})": "컨텍스트 {0} 토큰은 {1}를 차지합니다({2})",
    "Kept now: {0} conversations, {1} of {2}": "지금 보관 중: 대화 {0}개, {2} 중 {1}",
    "Other programs": "다른 프로그램",
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


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise SystemExit(f"{name} not found: install PySide6 (it ships {name}) into this Python")
    return found


def main() -> int:
    sources = sorted(str(p) for p in UI.glob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), *sources, "-no-obsolete", "-ts", str(TS)], check=True,
                   capture_output=True)
    tree = ET.parse(TS)
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
    ET.indent(tree)
    tree.write(TS, encoding="utf-8", xml_declaration=True)
    if missing:
        print("no Korean text for:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    subprocess.run([_tool("pyside6-lrelease"), str(TS), "-qm", str(QM)], check=True, capture_output=True)
    print(f"wrote {TS.name} and {QM.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
