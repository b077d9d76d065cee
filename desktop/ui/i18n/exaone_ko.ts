<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR" sourcelanguage="en">
  <context>
    <name>AttachmentTray</name>
    <message>
      <location filename="../attachments.py" line="66" />
      <source>Attach image…</source>
      <translation>이미지 첨부…</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="69" />
      <source>Remove images</source>
      <translation>이미지 빼기</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="76" />
      <source>Attach images</source>
      <translation>이미지 첨부</translation>
    </message>
    <message>
      <location filename="../attachments.py" line="77" />
      <source>Images (*.png *.jpg *.jpeg *.webp)</source>
      <translation>이미지 (*.png *.jpg *.jpeg *.webp)</translation>
    </message>
  </context>
  <context>
    <name>CloudConsentDialog</name>
    <message>
      <location filename="../cloud_dialog.py" line="14" />
      <source>Send messages to the cloud?</source>
      <translation>메시지를 클라우드로 보낼까요?</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="17" />
      <source>&lt;p&gt;With the cloud fallback on, &lt;b&gt;the conversation you send&lt;/b&gt; (its system prompt, your messages and the previous answers, without reasoning) and the generation settings are sent over HTTPS to &lt;b&gt;{host}&lt;/b&gt; and answered by the model &lt;b&gt;{model}&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Your API key is kept in the OS keychain. Nothing else leaves this computer, and nothing is sent while the switch is off. Every cloud reply is marked in the chat.&lt;/p&gt;</source>
      <translation>&lt;p&gt;클라우드 대체를 켜면 &lt;b&gt;보내는 대화&lt;/b&gt;(시스템 프롬프트, 내 메시지, 추론을 뺀 이전 답변)와 생성 설정이 HTTPS로 &lt;b&gt;{host}&lt;/b&gt;에 전송되고, 모델 &lt;b&gt;{model}&lt;/b&gt;이(가) 답합니다.&lt;/p&gt;&lt;p&gt;API 키는 OS 키체인에 보관됩니다. 그 밖에는 아무것도 이 컴퓨터를 떠나지 않으며, 스위치가 꺼져 있는 동안에는 아무것도 전송되지 않습니다. 클라우드 답변은 대화에 모두 표시됩니다.&lt;/p&gt;</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="27" />
      <source>I understand and agree to send messages to this service</source>
      <translation>이 서비스로 메시지를 보내는 것을 이해하고 동의합니다</translation>
    </message>
    <message>
      <location filename="../cloud_dialog.py" line="32" />
      <source>Turn on</source>
      <translation>켜기</translation>
    </message>
  </context>
  <context>
    <name>Composer</name>
    <message>
      <location filename="../composer.py" line="19" />
      <source>Editing your last message: Send replaces it and asks again.</source>
      <translation>마지막 메시지를 고치는 중입니다. 보내기를 누르면 바꾼 메시지로 다시 묻습니다.</translation>
    </message>
    <message>
      <location filename="../composer.py" line="25" />
      <source>Type a message (Ctrl+Enter sends)</source>
      <translation>메시지를 입력하세요 (Ctrl+Enter로 보내기)</translation>
    </message>
    <message>
      <location filename="../composer.py" line="28" />
      <source>Send</source>
      <translation>보내기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="31" />
      <source>Stop</source>
      <translation>멈추기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="33" />
      <source>Regenerate</source>
      <translation>다시 생성</translation>
    </message>
    <message>
      <location filename="../composer.py" line="35" />
      <source>Edit last message</source>
      <translation>마지막 메시지 고치기</translation>
    </message>
  </context>
  <context>
    <name>ConversationSidebar</name>
    <message>
      <location filename="../sidebar.py" line="34" />
      <location filename="../sidebar.py" line="60" />
      <source>New chat</source>
      <translation>새 대화</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="37" />
      <source>Search chats</source>
      <translation>대화 검색</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="43" />
      <source>Rename</source>
      <translation>이름 바꾸기</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="44" />
      <source>Delete</source>
      <translation>삭제</translation>
    </message>
    <message>
      <location filename="../sidebar.py" line="45" />
      <source>Export</source>
      <translation>내보내기</translation>
    </message>
  </context>
  <context>
    <name>DocumentTray</name>
    <message>
      <location filename="../documents.py" line="58" />
      <source>Attach document…</source>
      <translation>문서 첨부…</translation>
    </message>
    <message>
      <location filename="../documents.py" line="66" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../documents.py" line="74" />
      <source>Attach documents</source>
      <translation>문서 첨부</translation>
    </message>
    <message>
      <location filename="../documents.py" line="75" />
      <source>Documents ({0})</source>
      <translation>문서 ({0})</translation>
    </message>
    <message>
      <location filename="../documents.py" line="114" />
      <source>Reading {0}…</source>
      <translation>{0} 읽는 중…</translation>
    </message>
    <message>
      <location filename="../documents.py" line="145" />
      <source>Remove {0}</source>
      <translation>{0} 빼기</translation>
    </message>
  </context>
  <context>
    <name>LoadPanel</name>
    <message>
      <location filename="../load_panel.py" line="58" />
      <source>These apply when the model is loaded: Reload applies a change.</source>
      <translation>모델을 불러올 때 적용됩니다. 바꾼 설정은 다시 불러오기로 적용하세요.</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="63" />
      <source>automatic</source>
      <translation>자동</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="82" />
      <source>Context size</source>
      <translation>컨텍스트 크기</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="83" />
      <source>KV cache type</source>
      <translation>KV 캐시 형식</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="85" />
      <source>Kept conversations</source>
      <translation>보관할 대화</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="91" />
      <source>Reload the model with these settings</source>
      <translation>이 설정으로 모델 다시 불러오기</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="102" />
      <source>Other programs</source>
      <translation>다른 프로그램</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="104" />
      <source>Serve the loaded model on localhost</source>
      <translation>불러온 모델을 이 컴퓨터(localhost)에서 서비스하기</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="106" />
      <source>An OpenAI-compatible server on this computer only (127.0.0.1): editors, notebooks and agent frameworks can use the model.</source>
      <translation>이 컴퓨터에서만 열리는 OpenAI 호환 서버(127.0.0.1)입니다. 편집기, 노트북, 에이전트 프레임워크에서 모델을 쓸 수 있습니다.</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="113" />
      <source>not serving</source>
      <translation>서비스하지 않음</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="114" />
      <source>Copy</source>
      <translation>복사</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="155" />
      <source>Load a model to see the memory its context takes.</source>
      <translation>모델을 불러오면 컨텍스트가 차지할 메모리가 보입니다.</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="158" />
      <source>{0} tokens of context</source>
      <translation>컨텍스트 {0} 토큰</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="159" />
      <source>{0} tokens of context take {1} ({2})</source>
      <translation>컨텍스트 {0} 토큰은 {1}를 차지합니다({2})</translation>
    </message>
    <message>
      <location filename="../load_panel.py" line="166" />
      <source>Kept now: {0} conversations, {1} of {2}</source>
      <translation>지금 보관 중: 대화 {0}개, {2} 중 {1}</translation>
    </message>
  </context>
  <context>
    <name>MainWindow</name>
    <message>
      <location filename="../main_window.py" line="138" />
      <source>Main</source>
      <translation>기본</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="141" />
      <source>New chat</source>
      <translation>새 대화</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="142" />
      <source>Models…</source>
      <translation>모델…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="143" />
      <source>Settings</source>
      <translation>설정</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="220" />
      <source>Loading {0}…</source>
      <translation>{0} 불러오는 중…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="269" />
      <source>Model ready.</source>
      <translation>모델이 준비되었습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="285" />
      <source>Models</source>
      <translation>모델</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="328" />
      <source>Load a model first: the server answers with the loaded model.</source>
      <translation>먼저 모델을 불러오세요. 서버는 불러온 모델로 답합니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="334" />
      <source>Serving the model at {0}</source>
      <translation>{0}에서 모델을 서비스하는 중</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="368" />
      <source>Rename chat</source>
      <translation>대화 이름 바꾸기</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="368" />
      <source>New name:</source>
      <translation>새 이름:</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="376" />
      <source>Delete chat</source>
      <translation>대화 삭제</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="377" />
      <source>Delete this chat and all its messages?</source>
      <translation>이 대화와 모든 메시지를 삭제할까요?</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="388" />
      <source>Export chat</source>
      <translation>대화 내보내기</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="398" />
      <source>Exported to {0}</source>
      <translation>{0}(으)로 내보냈습니다</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="414" />
      <source>A document is still being read: wait for it, or cancel it.</source>
      <translation>아직 문서를 읽는 중입니다. 기다리거나 취소하세요.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="463" />
      <source>Stopping…</source>
      <translation>멈추는 중…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="665" />
      <source>prompt: {0} reused, {1} read</source>
      <translation>프롬프트: {0}개 재사용, {1}개 읽음</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="667" />
      <source>{0} earlier messages left out</source>
      <translation>앞선 메시지 {0}개 뺌</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="439" />
      <source>No model is loaded: set up the demo model, or open the model manager.</source>
      <translation>불러온 모델이 없습니다. 데모 모델을 준비하거나 모델 관리자를 여세요.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="479" />
      <source>Writing…</source>
      <translation>답변 작성 중…</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="494" />
      <location filename="../main_window.py" line="659" />
      <source>{0:.1f} tok/s</source>
      <translation>{0:.1f} 토큰/초</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="515" />
      <source>The reply failed.</source>
      <translation>답변을 만들지 못했습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="514" />
      <source>Done.</source>
      <translation>완료.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="514" />
      <source>Stopped; the partial reply was kept.</source>
      <translation>멈췄습니다. 여기까지의 답변은 저장되었습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="518" />
      <source>{0} earlier messages were left out to fit the context; the chat keeps them.</source>
      <translation>컨텍스트에 맞추려고 앞선 메시지 {0}개를 뺐습니다. 대화 기록에는 그대로 남아 있습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="536" />
      <source>Use the other engine?</source>
      <translation>다른 엔진을 쓸까요?</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="611" />
      <source>Using OPENAI_API_KEY from the environment.</source>
      <translation>환경 변수 OPENAI_API_KEY를 사용합니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="612" />
      <source>A key is stored in the OS keychain.</source>
      <translation>키가 OS 키체인에 저장되어 있습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="612" />
      <source>No API key set.</source>
      <translation>API 키가 없습니다.</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="656" />
      <source>Model: {0}</source>
      <translation>모델: {0}</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="656" />
      <source>none</source>
      <translation>없음</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="657" />
      <source>Backend: {0}</source>
      <translation>백엔드: {0}</translation>
    </message>
    <message>
      <location filename="../main_window.py" line="663" />
      <source>Context: {0}{1}</source>
      <translation>컨텍스트: {0}{1}</translation>
    </message>
  </context>
  <context>
    <name>MessageWidget</name>
    <message>
      <location filename="../chat_view.py" line="94" />
      <source>Copy</source>
      <translation>복사</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="126" />
      <source>Reasoning</source>
      <translation>추론 과정</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="143" />
      <source>You</source>
      <translation>나</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="145" />
      <source>☁ Cloud reply</source>
      <translation>☁ 클라우드 답변</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="153" />
      <source>Seed {0}: send with this seed to draw the same reply</source>
      <translation>시드 {0}: 이 시드로 보내면 같은 답변이 나옵니다</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="158" />
      <source>writing…</source>
      <translation>작성 중…</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="158" />
      <source>stopped</source>
      <translation>멈춤</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="158" />
      <source>interrupted</source>
      <translation>중단됨</translation>
    </message>
    <message>
      <location filename="../chat_view.py" line="159" />
      <source>failed</source>
      <translation>실패</translation>
    </message>
  </context>
  <context>
    <name>ModelManager</name>
    <message>
      <location filename="../model_manager.py" line="48" />
      <source>Name</source>
      <translation>이름</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="49" />
      <source>Architecture</source>
      <translation>아키텍처</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="50" />
      <location filename="../model_manager.py" line="58" />
      <source>Size</source>
      <translation>크기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="51" />
      <source>Quant type</source>
      <translation>양자화 형식</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="52" />
      <source>Context</source>
      <translation>컨텍스트</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="85" />
      <source>Models on this computer</source>
      <translation>이 컴퓨터의 모델</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="88" />
      <source>Use selected model</source>
      <translation>선택한 모델 사용</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="90" />
      <source>Open a GGUF file…</source>
      <translation>GGUF 파일 열기…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="92" />
      <source>Set up the demo model</source>
      <translation>데모 모델 준비하기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="95" />
      <source>Refresh</source>
      <translation>새로 고침</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="101" />
      <source>Download an official EXAONE GGUF</source>
      <translation>공식 EXAONE GGUF 내려받기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="134" />
      <source>Download</source>
      <translation>내려받기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="56" />
      <location filename="../model_manager.py" line="136" />
      <source>Repository</source>
      <translation>저장소</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="57" />
      <location filename="../model_manager.py" line="137" />
      <source>File</source>
      <translation>파일</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="59" />
      <source>This computer</source>
      <translation>이 컴퓨터</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="105" />
      <source>This computer has {0} of memory.</source>
      <translation>이 컴퓨터의 메모리는 {0}입니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="106" />
      <source>This computer's memory is unknown.</source>
      <translation>이 컴퓨터의 메모리 크기를 알 수 없습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="116" />
      <source>Check files and sizes on the Hub</source>
      <translation>Hub에서 파일과 크기 확인</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="118" />
      <source>Sizes marked ≈ are estimates; this asks Hugging Face for each repository's real files (nothing is downloaded)</source>
      <translation>≈ 표시된 크기는 추정값입니다. Hugging Face에 저장소마다 실제 파일을 묻습니다(아무것도 내려받지 않습니다)</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="141" />
      <source>Convert a Hugging Face checkpoint</source>
      <translation>Hugging Face 체크포인트 변환</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="146" />
      <source>Hub id (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) or a local folder</source>
      <translation>Hub ID (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) 또는 로컬 폴더</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="147" />
      <source>Folder…</source>
      <translation>폴더…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="153" />
      <source>Convert</source>
      <translation>변환</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="155" />
      <source>Source</source>
      <translation>원본</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="156" />
      <source>Type</source>
      <translation>형식</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="160" />
      <source>Quantize the selected GGUF</source>
      <translation>선택한 GGUF 양자화</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="164" />
      <source>Quantize</source>
      <translation>양자화</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="174" />
      <source>Cancel</source>
      <translation>취소</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="215" />
      <source>Select a model in the list first.</source>
      <translation>먼저 목록에서 모델을 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="220" />
      <source>Open a GGUF model</source>
      <translation>GGUF 모델 열기</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="226" />
      <source>Checkpoint folder</source>
      <translation>체크포인트 폴더</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="236" />
      <source>{0} + {1} vision projector</source>
      <translation>{0} + 비전 프로젝터 {1}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="240" />
      <source>unknown</source>
      <translation>알 수 없음</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="242" />
      <source>fits</source>
      <translation>실행 가능</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="244" />
      <source>too large (needs about {0})</source>
      <translation>너무 큼 (약 {0} 필요)</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="245" />
      <source>Downloads {0} with its vision projector {1}</source>
      <translation>{0}을(를) 비전 프로젝터 {1}과(와) 함께 내려받습니다</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="274" />
      <source>Asking the Hub for the official files…</source>
      <translation>Hub에 공식 파일 목록을 묻는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="285" />
      <source>Read {0} of {1} repositories; the others keep estimated sizes ({2})</source>
      <translation>저장소 {1}개 중 {0}개를 읽었습니다. 나머지는 추정 크기로 둡니다 ({2})</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="288" />
      <source>Read the files and sizes of all {0} repositories.</source>
      <translation>저장소 {0}개 모두의 파일과 크기를 읽었습니다.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="297" />
      <source>Setting up the demo model…</source>
      <translation>데모 모델 준비 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="302" />
      <source>Choose a repository and a file.</source>
      <translation>저장소와 파일을 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="305" />
      <source>Downloading {0}…</source>
      <translation>{0} 내려받는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="310" />
      <source>Enter a Hub id or choose a checkpoint folder.</source>
      <translation>Hub ID를 입력하거나 체크포인트 폴더를 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="313" />
      <source>Converting {0}…</source>
      <translation>{0} 변환 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="318" />
      <source>Select the GGUF to quantize in the list first.</source>
      <translation>먼저 목록에서 양자화할 GGUF를 고르세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="322" />
      <source>Quantizing {0}…</source>
      <translation>{0} 양자화 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="326" />
      <source>Another task is running; wait for it or cancel it.</source>
      <translation>다른 작업이 진행 중입니다. 끝날 때까지 기다리거나 취소하세요.</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="347" />
      <source>Cancelling…</source>
      <translation>취소하는 중…</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="362" />
      <source>Done: {0}</source>
      <translation>완료: {0}</translation>
    </message>
    <message>
      <location filename="../model_manager.py" line="375" />
      <source>Cancelled; no file was written.</source>
      <translation>취소했습니다. 파일은 만들어지지 않았습니다.</translation>
    </message>
  </context>
  <context>
    <name>SettingsPanel</name>
    <message>
      <location filename="../settings_panel.py" line="40" />
      <source>Local first, ask before using the cloud</source>
      <translation>로컬 먼저, 클라우드 사용 전에 묻기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="41" />
      <source>Always the cloud</source>
      <translation>항상 클라우드</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="42" />
      <source>Local first, then the cloud without asking</source>
      <translation>로컬 먼저, 실패하면 묻지 않고 클라우드</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="45" />
      <source>model default</source>
      <translation>모델 기본값</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="46" />
      <source>on</source>
      <translation>켬</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="47" />
      <source>off</source>
      <translation>끔</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="81" />
      <location filename="../settings_panel.py" line="138" />
      <source>unset</source>
      <translation>미설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="106" />
      <source>not applied by the cloud</source>
      <translation>클라우드에서 적용 안 됨</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="110" />
      <source>Reset</source>
      <translation>초기화</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="156" />
      <source>One per line; \n is a newline.</source>
      <translation>한 줄에 하나씩, \n은 줄바꿈입니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="193" />
      <source>default {0}</source>
      <translation>기본값 {0}</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="196" />
      <source>model {0}</source>
      <translation>모델 {0}</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="228" />
      <source>Generation</source>
      <translation>생성</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="229" />
      <source>Conversation</source>
      <translation>대화</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="232" />
      <source>Cloud</source>
      <translation>클라우드</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="233" />
      <source>Interface</source>
      <translation>화면</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="240" />
      <source>Reasoning switch</source>
      <translation>추론 스위치</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="260" />
      <source>Reset all</source>
      <translation>모두 초기화</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="274" />
      <source>System prompt for this conversation</source>
      <translation>이 대화의 시스템 프롬프트</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="277" />
      <source>For example: You are a helpful assistant.</source>
      <translation>예: 당신은 친절한 도우미입니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="293" />
      <source>Use the cloud fallback (OpenAI)</source>
      <translation>클라우드 대체 사용 (OpenAI)</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="297" />
      <source>Off by default. When on, your messages may be sent to the cloud service below; every cloud reply is marked.</source>
      <translation>기본값은 꺼짐입니다. 켜면 메시지가 아래 클라우드 서비스로 보내질 수 있으며, 클라우드 답변은 모두 표시됩니다.</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="301" />
      <source>Cloud settings</source>
      <translation>클라우드 설정</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="320" />
      <source>Paste an API key</source>
      <translation>API 키를 붙여 넣으세요</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="321" />
      <source>Save in keychain</source>
      <translation>키체인에 저장</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="323" />
      <source>Remove</source>
      <translation>지우기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="330" />
      <source>Routing</source>
      <translation>라우팅</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="231" />
      <location filename="../settings_panel.py" line="331" />
      <source>Model</source>
      <translation>모델</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="332" />
      <source>Base URL</source>
      <translation>기본 URL</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="333" />
      <source>API key</source>
      <translation>API 키</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="344" />
      <source>Follow the system</source>
      <translation>시스템 설정 따르기</translation>
    </message>
    <message>
      <location filename="../settings_panel.py" line="348" />
      <source>Language</source>
      <translation>언어</translation>
    </message>
  </context>
  <context>
    <name>WelcomePage</name>
    <message>
      <location filename="../composer.py" line="57" />
      <source>Welcome to EXAONE Desktop</source>
      <translation>EXAONE Desktop에 오신 것을 환영합니다</translation>
    </message>
    <message>
      <location filename="../composer.py" line="59" />
      <source>There is no model on this computer yet. Start with the small demo model (it runs offline, made for trying the app), or download or convert an EXAONE model.</source>
      <translation>아직 이 컴퓨터에 모델이 없습니다. 앱을 시험해 볼 수 있는 작은 데모 모델(오프라인 실행)로 시작하거나, EXAONE 모델을 내려받거나 변환하세요.</translation>
    </message>
    <message>
      <location filename="../composer.py" line="65" />
      <source>Set up the demo model</source>
      <translation>데모 모델 준비하기</translation>
    </message>
    <message>
      <location filename="../composer.py" line="67" />
      <source>Download or convert a model…</source>
      <translation>모델 내려받기 또는 변환…</translation>
    </message>
  </context>
</TS>